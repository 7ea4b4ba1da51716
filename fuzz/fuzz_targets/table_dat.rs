#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    icdflow::fuzz::feed(icdflow::fuzz::Target::TableDat, data);
});
