//! The shared 国临 tables for the search figures: the `search` benchmark
//! includes this module, and the `search_bench` and `mapping_quality`
//! examples include it by path, so all three measure the same tables
//! loaded the same way.

use std::path::PathBuf;
use std::sync::Arc;

use icdflow::terminology::{load_table, CodeSystem, Terminology};

/// `../shared/data` beside the checkout.
pub fn data_dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/data"))
}

/// Loads `terminology/<file>` of the shared data with the importer, as the
/// app loads a table (hierarchy and synthetic headings included). `None`,
/// after a note, when the file is absent; a file that is there but does not
/// load is a broken checkout, and that panics.
pub fn shared_table(file: &str, system: CodeSystem) -> Option<Arc<Terminology>> {
    let path = data_dir().join("terminology").join(file);
    if !path.is_file() {
        eprintln!(
            "skipping: {} not found (shared data absent)",
            path.display()
        );
        return None;
    }
    let (term, _report) =
        load_table(&path, system).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    Some(Arc::new(term))
}
