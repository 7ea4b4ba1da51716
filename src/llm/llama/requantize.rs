//! Rewriting a model's weights in another llama.cpp format, for the machine
//! that runs it.
//!
//! Why: a CPU reads a prompt at the speed of its matrix kernels, and those
//! differ by format. The registry's Qwen2.5-Coder-0.5B is Q4_K_M in name,
//! but its 896-wide rows do not fit the K formats' 256-value blocks, so most
//! of its tensors are Q5_0, which llama.cpp's CPU backend multiplies without
//! a repacked kernel. In IQ4_NL (32-value blocks, repacked for AVX2 at load)
//! the same model reads prompts about 1.4× faster on a 2-core x86 VM. The
//! README gives the figures, and what the change does to the answers.
//!
//! llama.cpp's own quantizer does the work (`llama_model_quantize`, which
//! llama-cpp-2 does not wrap). The new file is written beside its final name
//! and renamed only when complete, so an interrupted run leaves no model
//! that looks whole.

use std::ffi::CString;
use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::error::{Error, Result};
use crate::llm::gguf;

/// A weight format to rewrite a model in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WeightFormat {
    /// 4.5 bits per weight, non-linear levels; repacked for AVX2 and NEON.
    Iq4Nl,
    /// 4.5 bits per weight, linear levels; repacked for AVX2 and NEON.
    Q4_0,
    /// 8.5 bits per weight: near the original, twice the memory.
    Q8_0,
}

impl WeightFormat {
    pub const ALL: [WeightFormat; 3] =
        [WeightFormat::Iq4Nl, WeightFormat::Q4_0, WeightFormat::Q8_0];

    /// The name llama.cpp's tools use (and [`gguf::weights_name`] gives).
    pub fn name(self) -> &'static str {
        match self {
            WeightFormat::Iq4Nl => "IQ4_NL",
            WeightFormat::Q4_0 => "Q4_0",
            WeightFormat::Q8_0 => "Q8_0",
        }
    }

    /// llama.cpp's `llama_ftype` value.
    fn ftype(self) -> u32 {
        match self {
            WeightFormat::Iq4Nl => llama_cpp_sys_2::LLAMA_FTYPE_MOSTLY_IQ4_NL,
            WeightFormat::Q4_0 => llama_cpp_sys_2::LLAMA_FTYPE_MOSTLY_Q4_0,
            WeightFormat::Q8_0 => llama_cpp_sys_2::LLAMA_FTYPE_MOSTLY_Q8_0,
        }
    }

    /// Where a rewrite of `model` goes by default: beside it, the format in
    /// its name (`m.gguf` → `m-iq4_nl.gguf`).
    pub fn default_output(self, model: &Path) -> PathBuf {
        let stem = model
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "model".into());
        model.with_file_name(format!("{stem}-{}.gguf", self.name().to_ascii_lowercase()))
    }
}

impl std::str::FromStr for WeightFormat {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        WeightFormat::ALL
            .into_iter()
            .find(|f| f.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| {
                let names: Vec<&str> = WeightFormat::ALL.iter().map(|f| f.name()).collect();
                format!("unknown weight format '{s}' (one of {})", names.join(", "))
            })
    }
}

/// What a rewrite did.
#[derive(Debug, Clone)]
pub struct Requantized {
    pub output: PathBuf,
    /// The source's format, where its metadata names it.
    pub from: Option<&'static str>,
    pub bytes_before: u64,
    pub bytes_after: u64,
    pub elapsed_ms: f64,
}

/// Writes `model`'s weights in `format` to `output`, on `threads` threads.
/// The source must be a model (not a LoRA adapter); `output` must not be
/// the source.
pub fn requantize(
    model: &Path,
    output: &Path,
    format: WeightFormat,
    threads: usize,
) -> Result<Requantized> {
    let started = Instant::now();
    let shown = model.display();
    let info = gguf::inspect(model)?;
    if info.is_adapter() {
        return Err(Error::Model(format!(
            "{shown} is a LoRA adapter, not a model: adapters keep the format they were trained in"
        )));
    }
    if info.tensor_count == 0 {
        return Err(Error::Model(format!("{shown} has no weights")));
    }
    if same_file(model, output) {
        return Err(Error::Model(format!(
            "{} would overwrite the model it is made from; name another file",
            output.display()
        )));
    }
    let mut part = output.as_os_str().to_owned();
    part.push(".part");
    let part = PathBuf::from(part);
    let c_path = |p: &Path| {
        CString::new(p.as_os_str().as_encoded_bytes())
            .map_err(|_| Error::Model(format!("{} has a NUL byte in its name", p.display())))
    };
    let (c_in, c_out) = (c_path(model)?, c_path(&part)?);

    // The backend must be up (and its log routed) before llama.cpp runs.
    super::runtime::runtime()?;
    // SAFETY: the defaults come from llama.cpp; the two paths are valid C
    // strings that outlive the call, and the pointer fields stay null.
    let status = unsafe {
        let mut params = llama_cpp_sys_2::llama_model_quantize_default_params();
        params.nthread = i32::try_from(threads.max(1)).unwrap_or(i32::MAX);
        params.ftype = format.ftype();
        // The registry models are quantized already; llama.cpp refuses to
        // quantize such weights again unless asked.
        params.allow_requantize = true;
        llama_cpp_sys_2::llama_model_quantize(c_in.as_ptr(), c_out.as_ptr(), &params)
    };
    if status != 0 {
        let _ = std::fs::remove_file(&part);
        return Err(Error::Model(format!(
            "llama.cpp could not rewrite {shown} as {} into {} (status {status}); \
             the llama.cpp log (tracing target llama_cpp_2) says why",
            format.name(),
            output.display()
        )));
    }
    std::fs::rename(&part, output).map_err(|e| {
        let _ = std::fs::remove_file(&part);
        Error::Model(format!("cannot put the model at {}: {e}", output.display()))
    })?;
    let bytes_after = std::fs::metadata(output).map(|m| m.len()).unwrap_or(0);
    Ok(Requantized {
        output: output.to_path_buf(),
        from: info.weights.and_then(gguf::weights_name),
        bytes_before: info.file_size,
        bytes_after,
        elapsed_ms: started.elapsed().as_secs_f64() * 1000.0,
    })
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(x), Ok(y)) => x == y,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_parse_by_their_llama_cpp_names() {
        assert_eq!("iq4_nl".parse(), Ok(WeightFormat::Iq4Nl));
        assert_eq!("Q8_0".parse(), Ok(WeightFormat::Q8_0));
        let e = "q4_k_m".parse::<WeightFormat>().unwrap_err();
        assert!(e.contains("IQ4_NL, Q4_0, Q8_0"), "{e}");
        for f in WeightFormat::ALL {
            assert_eq!(gguf::weights_name(f.ftype()), Some(f.name()));
        }
    }

    #[test]
    fn the_default_output_sits_beside_the_model_with_the_format_in_its_name() {
        assert_eq!(
            WeightFormat::Iq4Nl.default_output(Path::new("models/qwen.gguf")),
            Path::new("models/qwen-iq4_nl.gguf")
        );
    }
}
