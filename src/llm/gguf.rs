//! A GGUF header check in plain Rust, run before llama.cpp opens a file.
//!
//! llama.cpp reports a bad file only as "failed to load" (or worse, on some
//! damaged files, aborts), so the file is first checked here: the `GGUF`
//! magic, a known version, readable metadata and tensor table, and tensor data
//! that lies inside the file. The error then names the file and what is wrong.

use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::Path;

use crate::error::{Error, Result};

/// What the header of a GGUF file says.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GgufInfo {
    /// GGUF format version (2 or 3).
    pub version: u32,
    /// Number of tensors.
    pub tensor_count: u64,
    /// Number of metadata entries.
    pub kv_count: u64,
    /// `general.architecture` (e.g. `qwen2`).
    pub architecture: Option<String>,
    /// `general.name`.
    pub name: Option<String>,
    /// `general.type`: `model` (or absent) for a model, `adapter` for a LoRA.
    pub file_type: Option<String>,
    /// `adapter.type` (e.g. `lora`) for adapters.
    pub adapter_type: Option<String>,
    /// `general.file_type`: how most weights are stored (llama.cpp's
    /// `llama_ftype`, e.g. 15 for Q4_K_M); see [`weights_name`].
    pub weights: Option<u32>,
    /// `<arch>.context_length`: the context the model was trained with.
    pub context_length: Option<u64>,
    /// Whether `tokenizer.ggml.tokens` is present (a model can run without one
    /// only if it is an adapter).
    pub has_vocab: bool,
    /// End of the last tensor's data, where it can be computed.
    pub data_end: u64,
    /// Size of the file in bytes.
    pub file_size: u64,
}

/// The usual name of a `general.file_type` (`llama_ftype`) value, as
/// llama.cpp's tools print it; `None` for one this list does not know.
pub fn weights_name(ftype: u32) -> Option<&'static str> {
    Some(match ftype {
        0 => "F32",
        1 => "F16",
        2 => "Q4_0",
        3 => "Q4_1",
        7 => "Q8_0",
        8 => "Q5_0",
        9 => "Q5_1",
        10 => "Q2_K",
        11 => "Q3_K_S",
        12 => "Q3_K_M",
        13 => "Q3_K_L",
        14 => "Q4_K_S",
        15 => "Q4_K_M",
        16 => "Q5_K_S",
        17 => "Q5_K_M",
        18 => "Q6_K",
        25 => "IQ4_NL",
        30 => "IQ4_XS",
        32 => "BF16",
        _ => return None,
    })
}

impl GgufInfo {
    /// Whether the file is a LoRA (or other) adapter rather than a model.
    pub fn is_adapter(&self) -> bool {
        self.file_type.as_deref() == Some("adapter")
    }
}

/// Reads and checks the header of the GGUF file at `path`.
pub fn inspect(path: &Path) -> Result<GgufInfo> {
    let shown = path.display();
    let file = File::open(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            Error::Model(format!("model file {shown} not found"))
        } else {
            Error::Model(format!("cannot open model file {shown}: {e}"))
        }
    })?;
    let file_size = file
        .metadata()
        .map_err(|e| Error::Model(format!("cannot read {shown}: {e}")))?
        .len();
    let mut r = Reader {
        inner: BufReader::with_capacity(1 << 16, file),
        file_size,
    };
    r.header()
        .map_err(|msg| Error::Model(format!("{shown}: {msg}")))
}

/// Metadata value types of the GGUF format.
const T_U8: u32 = 0;
const T_I8: u32 = 1;
const T_U16: u32 = 2;
const T_I16: u32 = 3;
const T_U32: u32 = 4;
const T_I32: u32 = 5;
const T_F32: u32 = 6;
const T_BOOL: u32 = 7;
const T_STRING: u32 = 8;
const T_ARRAY: u32 = 9;
const T_U64: u32 = 10;
const T_I64: u32 = 11;
const T_F64: u32 = 12;

/// Sanity bounds: a real file never comes near them; a damaged one that
/// claims more is rejected before anything large is allocated.
const MAX_COUNT: u64 = 1 << 24;
const MAX_STRING: u64 = 1 << 26;

struct Reader {
    inner: BufReader<File>,
    file_size: u64,
}

type R<T> = std::result::Result<T, String>;

impl Reader {
    fn header(&mut self) -> R<GgufInfo> {
        let mut magic = [0u8; 4];
        self.inner.read_exact(&mut magic).map_err(|_| {
            format!(
                "not a GGUF model: the file has only {} bytes",
                self.file_size
            )
        })?;
        if &magic != b"GGUF" {
            return Err(format!(
                "not a GGUF model (starts with {magic:02x?}, expected \"GGUF\")"
            ));
        }
        let version = self.u32()?;
        if !(2..=3).contains(&version) {
            return Err(format!(
                "unsupported GGUF version {version} (2 and 3 are supported)"
            ));
        }
        let tensor_count = self.u64()?;
        let kv_count = self.u64()?;
        if tensor_count > MAX_COUNT || kv_count > MAX_COUNT {
            return Err(format!(
                "damaged header ({tensor_count} tensors, {kv_count} metadata entries)"
            ));
        }
        let mut info = GgufInfo {
            version,
            tensor_count,
            kv_count,
            file_size: self.file_size,
            ..Default::default()
        };
        let mut alignment = 32u64;
        for i in 0..kv_count {
            let key = self
                .string()
                .map_err(|e| format!("metadata entry {i}: {e}"))?;
            let ty = self.u32()?;
            let ctx_key = info
                .architecture
                .as_ref()
                .map(|a| format!("{a}.context_length"));
            match (key.as_str(), ty) {
                ("general.architecture", T_STRING) => info.architecture = Some(self.string()?),
                ("general.name", T_STRING) => info.name = Some(self.string()?),
                ("general.type", T_STRING) => info.file_type = Some(self.string()?),
                ("adapter.type", T_STRING) => info.adapter_type = Some(self.string()?),
                ("general.file_type", T_U32) => info.weights = Some(self.u32()?),
                ("general.alignment", T_U32) => alignment = u64::from(self.u32()?),
                (k, T_U32 | T_U64) if Some(k) == ctx_key.as_deref() => {
                    info.context_length = Some(if ty == T_U32 {
                        u64::from(self.u32()?)
                    } else {
                        self.u64()?
                    })
                }
                (k, _) => {
                    if k == "tokenizer.ggml.tokens" {
                        info.has_vocab = true;
                    }
                    self.skip_value(ty)
                        .map_err(|e| format!("metadata \"{k}\": {e}"))?
                }
            }
        }
        if alignment == 0 || !alignment.is_power_of_two() {
            return Err(format!("invalid general.alignment {alignment}"));
        }
        let mut tensors = Vec::with_capacity(tensor_count.min(4096) as usize);
        for i in 0..tensor_count {
            let name = self.string().map_err(|e| format!("tensor {i}: {e}"))?;
            let n_dims = self.u32()?;
            if n_dims > 4 {
                return Err(format!("tensor {name}: {n_dims} dimensions"));
            }
            let mut elements: u64 = 1;
            let mut first_dim = 1;
            for d in 0..n_dims {
                let n = self.u64()?;
                if d == 0 {
                    first_dim = n;
                }
                elements = elements
                    .checked_mul(n)
                    .ok_or_else(|| format!("tensor {name}: size overflows"))?;
            }
            let ggml_type = self.u32()?;
            let offset = self.u64()?;
            tensors.push((name, ggml_type, elements, first_dim, offset));
        }
        let pos = self
            .inner
            .stream_position()
            .map_err(|e| format!("read error: {e}"))?;
        let data_start = pos.div_ceil(alignment) * alignment;
        info.data_end = data_start.min(self.file_size);
        for (name, ggml_type, elements, first_dim, offset) in tensors {
            let start = data_start.saturating_add(offset);
            let end = match type_size(ggml_type) {
                Some((block, bytes)) => {
                    if first_dim % block != 0 {
                        return Err(format!(
                            "tensor {name}: row of {first_dim} is not a multiple of the type's block {block}"
                        ));
                    }
                    start.saturating_add(elements / block * bytes)
                }
                None => start,
            };
            if end > self.file_size {
                return Err(format!(
                    "truncated or damaged: tensor {name} needs bytes up to {end}, the file has {} (was the download cut short?)",
                    self.file_size
                ));
            }
            info.data_end = info.data_end.max(end);
        }
        Ok(info)
    }

    fn bytes<const N: usize>(&mut self) -> R<[u8; N]> {
        let mut b = [0u8; N];
        self.inner
            .read_exact(&mut b)
            .map_err(|_| "unexpected end of file in the header (truncated?)".to_string())?;
        Ok(b)
    }
    fn u32(&mut self) -> R<u32> {
        Ok(u32::from_le_bytes(self.bytes()?))
    }
    fn u64(&mut self) -> R<u64> {
        Ok(u64::from_le_bytes(self.bytes()?))
    }
    fn string(&mut self) -> R<String> {
        let len = self.u64()?;
        if len > MAX_STRING {
            return Err(format!("string of {len} bytes (damaged header?)"));
        }
        let mut b = vec![0u8; len as usize];
        self.inner
            .read_exact(&mut b)
            .map_err(|_| "unexpected end of file in the header (truncated?)".to_string())?;
        Ok(String::from_utf8_lossy(&b).into_owned())
    }
    fn skip(&mut self, n: u64) -> R<()> {
        let here = self
            .inner
            .stream_position()
            .map_err(|e| format!("read error: {e}"))?;
        if here.saturating_add(n) > self.file_size {
            return Err("unexpected end of file in the header (truncated?)".into());
        }
        self.inner
            .seek(SeekFrom::Current(n as i64))
            .map_err(|e| format!("read error: {e}"))?;
        Ok(())
    }
    fn skip_value(&mut self, ty: u32) -> R<()> {
        match ty {
            T_U8 | T_I8 | T_BOOL => self.skip(1),
            T_U16 | T_I16 => self.skip(2),
            T_U32 | T_I32 | T_F32 => self.skip(4),
            T_U64 | T_I64 | T_F64 => self.skip(8),
            T_STRING => {
                let len = self.u64()?;
                self.skip(len)
            }
            T_ARRAY => {
                let item = self.u32()?;
                let n = self.u64()?;
                if n > MAX_COUNT * 4 {
                    return Err(format!("array of {n} items (damaged header?)"));
                }
                match fixed_size(item) {
                    Some(size) => self.skip(n * size),
                    None if item == T_STRING => {
                        for _ in 0..n {
                            let len = self.u64()?;
                            self.skip(len)?;
                        }
                        Ok(())
                    }
                    None => Err(format!("array of unsupported item type {item}")),
                }
            }
            other => Err(format!("unknown value type {other}")),
        }
    }
}

fn fixed_size(ty: u32) -> Option<u64> {
    match ty {
        T_U8 | T_I8 | T_BOOL => Some(1),
        T_U16 | T_I16 => Some(2),
        T_U32 | T_I32 | T_F32 => Some(4),
        T_U64 | T_I64 | T_F64 => Some(8),
        _ => None,
    }
}

/// (elements per block, bytes per block) of the ggml tensor types whose
/// layout is stable; other types are only checked for their start offset.
fn type_size(ggml_type: u32) -> Option<(u64, u64)> {
    Some(match ggml_type {
        0 => (1, 4),      // F32
        1 => (1, 2),      // F16
        2 => (32, 18),    // Q4_0
        3 => (32, 20),    // Q4_1
        6 => (32, 22),    // Q5_0
        7 => (32, 24),    // Q5_1
        8 => (32, 34),    // Q8_0
        9 => (32, 36),    // Q8_1
        10 => (256, 84),  // Q2_K
        11 => (256, 110), // Q3_K
        12 => (256, 144), // Q4_K
        13 => (256, 176), // Q5_K
        14 => (256, 210), // Q6_K
        15 => (256, 292), // Q8_K
        20 => (32, 18),   // IQ4_NL
        23 => (256, 136), // IQ4_XS
        24 => (1, 1),     // I8
        25 => (1, 2),     // I16
        26 => (1, 4),     // I32
        27 => (1, 8),     // I64
        28 => (1, 8),     // F64
        30 => (1, 2),     // BF16
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    /// Writes a minimal GGUF v3: an architecture, a file type (IQ4_NL), a
    /// vocabulary of two tokens and one F32 tensor of 8 values.
    fn tiny_gguf(data_bytes: usize) -> Vec<u8> {
        let mut v = Vec::new();
        v.extend_from_slice(b"GGUF");
        v.extend_from_slice(&3u32.to_le_bytes());
        v.extend_from_slice(&1u64.to_le_bytes()); // tensors
        v.extend_from_slice(&3u64.to_le_bytes()); // kvs
        let s = |v: &mut Vec<u8>, t: &str| {
            v.extend_from_slice(&(t.len() as u64).to_le_bytes());
            v.extend_from_slice(t.as_bytes());
        };
        s(&mut v, "general.architecture");
        v.extend_from_slice(&T_STRING.to_le_bytes());
        s(&mut v, "llama");
        s(&mut v, "general.file_type");
        v.extend_from_slice(&T_U32.to_le_bytes());
        v.extend_from_slice(&25u32.to_le_bytes());
        s(&mut v, "tokenizer.ggml.tokens");
        v.extend_from_slice(&T_ARRAY.to_le_bytes());
        v.extend_from_slice(&T_STRING.to_le_bytes());
        v.extend_from_slice(&2u64.to_le_bytes());
        s(&mut v, "a");
        s(&mut v, "b");
        s(&mut v, "w");
        v.extend_from_slice(&1u32.to_le_bytes());
        v.extend_from_slice(&8u64.to_le_bytes());
        v.extend_from_slice(&0u32.to_le_bytes()); // F32
        v.extend_from_slice(&0u64.to_le_bytes()); // offset
        while v.len() % 32 != 0 {
            v.push(0);
        }
        v.extend(std::iter::repeat_n(0u8, data_bytes));
        v
    }

    fn write(bytes: &[u8]) -> tempfile::NamedTempFile {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(bytes).unwrap();
        f
    }

    #[test]
    fn reads_a_valid_header() {
        let f = write(&tiny_gguf(32));
        let info = inspect(f.path()).unwrap();
        assert_eq!(info.version, 3);
        assert_eq!(info.architecture.as_deref(), Some("llama"));
        assert!(info.has_vocab);
        assert_eq!(info.data_end, info.file_size);
        assert!(!info.is_adapter());
        assert_eq!(info.weights.and_then(weights_name), Some("IQ4_NL"));
        assert_eq!(weights_name(15), Some("Q4_K_M"));
        assert_eq!(weights_name(999), None);
    }

    #[test]
    fn rejects_truncated_data_and_names_the_file() {
        let f = write(&tiny_gguf(16));
        let e = inspect(f.path()).unwrap_err().to_string();
        assert!(e.contains("truncated"), "{e}");
        assert!(e.contains(&f.path().display().to_string()), "{e}");
    }

    #[test]
    fn rejects_truncated_header() {
        let full = tiny_gguf(32);
        for cut in [3, 10, 30, 60] {
            let f = write(&full[..cut]);
            let e = inspect(f.path()).unwrap_err().to_string();
            assert!(e.contains(&f.path().display().to_string()), "{e}");
        }
    }

    #[test]
    fn rejects_non_gguf() {
        let f = write(b"PK\x03\x04 this is a zip, not a model");
        let e = inspect(f.path()).unwrap_err().to_string();
        assert!(e.contains("not a GGUF"), "{e}");
    }

    #[test]
    fn missing_file_is_named() {
        let e = inspect(Path::new("/nonexistent/dir/m.gguf"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("/nonexistent/dir/m.gguf") && e.contains("not found"),
            "{e}"
        );
    }
}
