//! Writes the PDFs the PDF-record tests read: a text PDF (an embedded CJK
//! TrueType font, Identity-H, a ToUnicode map, so that poppler extracts the
//! text as written), a scan of it (each page rendered by `pdftoppm` and put
//! back as one grey image, no text layer), an encrypted one and a damaged
//! one. Also used by `examples/record_pdf.rs`.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

/// TrueType fonts (not collections) to print records in: one with Chinese
/// glyphs (the `ICDFLOW_TEST_CJK_FONT` file, else Debian's
/// `fonts-droid-fallback`) and one for Latin letters and digits, which the
/// Chinese one lacks (`fonts-dejavu-core`). `None` when either is missing.
pub fn cjk_font() -> Option<Vec<PathBuf>> {
    let first = |c: &[&str]| c.iter().map(PathBuf::from).find(|p| p.is_file());
    let cjk = match std::env::var_os("ICDFLOW_TEST_CJK_FONT") {
        Some(p) => Some(PathBuf::from(p)).filter(|p| p.is_file()),
        None => first(&[
            "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
            "/usr/share/fonts/truetype/droid/DroidSansFallback.ttf",
        ]),
    }?;
    let latin = first(&["/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"])?;
    Some(vec![cjk, latin])
}

/// Whether a program is on the PATH.
pub fn have(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|d| d.join(program).is_file()))
}

/// Serializes numbered objects (1-based, in order) into a PDF file with its
/// cross-reference table. `trailer_extra` goes into the trailer dictionary.
fn assemble(objects: &[Vec<u8>], trailer_extra: &str) -> Vec<u8> {
    let mut out = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n".to_vec();
    let mut offsets = Vec::new();
    for (i, o) in objects.iter().enumerate() {
        offsets.push(out.len());
        writeln!(out, "{} 0 obj", i + 1).unwrap();
        out.extend_from_slice(o);
        out.extend_from_slice(b"\nendobj\n");
    }
    let xref = out.len();
    write!(out, "xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).unwrap();
    for o in offsets {
        writeln!(out, "{o:010} 00000 n ").unwrap();
    }
    write!(
        out,
        "trailer\n<< /Size {} /Root 1 0 R {trailer_extra} >>\nstartxref\n{xref}\n%%EOF\n",
        objects.len() + 1
    )
    .unwrap();
    out
}

fn stream(dict: &str, data: &[u8]) -> Vec<u8> {
    let mut o = format!("<< {dict} /Length {} >>\nstream\n", data.len()).into_bytes();
    o.extend_from_slice(data);
    o.extend_from_slice(b"\nendstream");
    o
}

fn deflate(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

/// One embedded font: its file, parsed face and the glyphs used.
struct Font<'a> {
    data: &'a [u8],
    face: ttf_parser::Face<'a>,
    /// glyph id → (char, advance in 1/1000 em)
    glyphs: BTreeMap<u16, (char, u32)>,
}

impl Font<'_> {
    fn glyph(&mut self, c: char) -> Option<u16> {
        let g = self.face.glyph_index(c)?.0;
        let upem = self.face.units_per_em() as f32;
        let adv = self
            .face
            .glyph_hor_advance(ttf_parser::GlyphId(g))
            .map(|a| (a as f32 * 1000.0 / upem).round() as u32)
            .unwrap_or(1000);
        self.glyphs.entry(g).or_insert((c, adv));
        Some(g)
    }

    /// Type0 font, CID font, descriptor, font file and ToUnicode map, as
    /// objects numbered from `first`.
    fn objects(&self, first: usize, name: &str) -> Vec<Vec<u8>> {
        let widths: String = self
            .glyphs
            .iter()
            .map(|(g, (_, w))| format!("{g} [{w}]"))
            .collect::<Vec<_>>()
            .join(" ");
        let mut cmap = String::from(
            "/CIDInit /ProcSet findresource begin 12 dict begin begincmap\n\
             /CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n\
             /CMapName /Adobe-Identity-UCS def /CMapType 2 def\n\
             1 begincodespacerange <0000> <FFFF> endcodespacerange\n",
        );
        let entries: Vec<_> = self.glyphs.iter().collect();
        for chunk in entries.chunks(100) {
            cmap.push_str(&format!("{} beginbfchar\n", chunk.len()));
            for (g, (c, _)) in chunk {
                let mut u = [0u16; 2];
                let hex: String = c
                    .encode_utf16(&mut u)
                    .iter()
                    .map(|x| format!("{x:04X}"))
                    .collect();
                cmap.push_str(&format!("<{g:04X}> <{hex}>\n"));
            }
            cmap.push_str("endbfchar\n");
        }
        cmap.push_str("endcmap CMapName currentdict /CMap defineresource pop end end\n");
        vec![
            format!(
                "<< /Type /Font /Subtype /Type0 /BaseFont /{name} /Encoding /Identity-H /DescendantFonts [{} 0 R] /ToUnicode {} 0 R >>",
                first + 1,
                first + 4
            )
            .into_bytes(),
            format!(
                "<< /Type /Font /Subtype /CIDFontType2 /BaseFont /{name} /CIDSystemInfo << /Registry (Adobe) /Ordering (Identity) /Supplement 0 >> /FontDescriptor {} 0 R /CIDToGIDMap /Identity /DW 1000 /W [{widths}] >>",
                first + 2
            )
            .into_bytes(),
            format!(
                "<< /Type /FontDescriptor /FontName /{name} /Flags 4 /FontBBox [-200 -250 1200 950] /ItalicAngle 0 /Ascent 880 /Descent -120 /CapHeight 700 /StemV 80 /FontFile2 {} 0 R >>",
                first + 3
            )
            .into_bytes(),
            stream(
                &format!("/Filter /FlateDecode /Length1 {}", self.data.len()),
                &deflate(self.data),
            ),
            stream("", cmap.as_bytes()),
        ]
    }
}

/// A text PDF of A4 pages, one string per line, in `fonts` (.ttf files;
/// each character in the first that has it).
pub fn text_pdf(pages: &[Vec<String>], fonts: &[PathBuf]) -> Vec<u8> {
    let data: Vec<Vec<u8>> = fonts
        .iter()
        .map(|f| std::fs::read(f).expect("read the font"))
        .collect();
    let mut fonts: Vec<Font> = data
        .iter()
        .map(|d| Font {
            data: d,
            face: ttf_parser::Face::parse(d, 0).expect("a TrueType font"),
            glyphs: BTreeMap::new(),
        })
        .collect();
    let mut contents = Vec::new();
    for lines in pages {
        let mut c = String::from("BT 16 TL 56 786 Td\n");
        for l in lines {
            // Runs of characters in one font.
            let mut cur: Option<usize> = None;
            let mut hex = String::new();
            for ch in l.chars() {
                let (fi, g) = fonts
                    .iter_mut()
                    .enumerate()
                    .find_map(|(i, f)| f.glyph(ch).map(|g| (i, g)))
                    .unwrap_or((0, 0));
                if cur != Some(fi) {
                    if let Some(f) = cur {
                        c.push_str(&format!("/F{f} 12 Tf <{hex}> Tj "));
                    }
                    hex.clear();
                    cur = Some(fi);
                }
                hex.push_str(&format!("{g:04X}"));
            }
            if let Some(f) = cur {
                c.push_str(&format!("/F{f} 12 Tf <{hex}> Tj "));
            }
            c.push_str("T*\n");
        }
        c.push_str("ET\n");
        contents.push(c);
    }
    let n = pages.len();
    // Objects: 1 catalog, 2 pages, 5 per font, then per page: page, contents.
    let first_page = 3 + 5 * fonts.len();
    let kids: Vec<String> = (0..n)
        .map(|i| format!("{} 0 R", first_page + 2 * i))
        .collect();
    let mut objs: Vec<Vec<u8>> = vec![
        b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
        format!("<< /Type /Pages /Kids [{}] /Count {n} >>", kids.join(" ")).into_bytes(),
    ];
    let mut resources = String::new();
    for (i, f) in fonts.iter().enumerate() {
        let first = 3 + 5 * i;
        resources.push_str(&format!("/F{i} {first} 0 R "));
        objs.extend(f.objects(first, &format!("Font{i}")));
    }
    for (i, c) in contents.iter().enumerate() {
        objs.push(
            format!(
                "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << {resources}>> >> /Contents {} 0 R >>",
                first_page + 2 * i + 1
            )
            .into_bytes(),
        );
        objs.push(stream("", c.as_bytes()));
    }
    assemble(&objs, "")
}

/// A grey image PDF: each page one image (width, height, 8-bit grey
/// pixels) filling an A4 page. No text layer.
pub fn image_pdf(pages: &[(u32, u32, Vec<u8>)]) -> Vec<u8> {
    let n = pages.len();
    let kids: Vec<String> = (0..n).map(|i| format!("{} 0 R", 3 + 3 * i)).collect();
    let mut objs: Vec<Vec<u8>> = vec![
        b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
        format!("<< /Type /Pages /Kids [{}] /Count {n} >>", kids.join(" ")).into_bytes(),
    ];
    for (i, (w, h, px)) in pages.iter().enumerate() {
        let img = 4 + 3 * i;
        objs.push(
            format!(
                "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /XObject << /Im0 {img} 0 R >> >> /Contents {} 0 R >>",
                img + 1
            )
            .into_bytes(),
        );
        objs.push(stream(
            &format!(
                "/Type /XObject /Subtype /Image /Width {w} /Height {h} /ColorSpace /DeviceGray /BitsPerComponent 8 /Filter /FlateDecode"
            ),
            &deflate(px),
        ));
        objs.push(stream("", b"q 595 0 0 842 0 0 cm /Im0 Do Q"));
    }
    assemble(&objs, "")
}

/// Reads a binary PGM (P5, 8-bit) as `pdftoppm -gray` writes it.
fn read_pgm(bytes: &[u8]) -> (u32, u32, Vec<u8>) {
    let mut fields = Vec::new();
    let mut i = 0;
    while fields.len() < 4 {
        while bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        if bytes[i] == b'#' {
            while bytes[i] != b'\n' {
                i += 1;
            }
            continue;
        }
        let s = i;
        while !bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        fields.push(String::from_utf8_lossy(&bytes[s..i]).into_owned());
    }
    assert_eq!(fields[0], "P5", "a binary grey PGM");
    let (w, h): (u32, u32) = (fields[1].parse().unwrap(), fields[2].parse().unwrap());
    let px = bytes[i + 1..i + 1 + (w * h) as usize].to_vec();
    (w, h, px)
}

/// A scan of `text_pdf`: every page rendered at `dpi` by poppler's
/// `pdftoppm` and written back as an image-only PDF.
pub fn scanned_pdf(text_pdf: &Path, dpi: u32, dir: &Path) -> Vec<u8> {
    let prefix = dir.join("scan-page");
    let st = Command::new("pdftoppm")
        .args(["-gray", "-r", &dpi.to_string()])
        .arg(text_pdf)
        .arg(&prefix)
        .status()
        .expect("run pdftoppm");
    assert!(st.success(), "pdftoppm failed");
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("scan-page"))
        })
        .collect();
    files.sort();
    let pages: Vec<_> = files
        .iter()
        .map(|f| read_pgm(&std::fs::read(f).unwrap()))
        .collect();
    for f in files {
        let _ = std::fs::remove_file(f);
    }
    image_pdf(&pages)
}

/// A PDF encrypted with a user password (standard security handler): no
/// reader opens it without the password.
pub fn encrypted_pdf() -> Vec<u8> {
    let objs: Vec<Vec<u8>> = vec![
        b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_vec(),
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>".to_vec(),
        format!(
            "<< /Filter /Standard /V 2 /R 3 /Length 128 /P -4 /O <{}> /U <{}> >>",
            "6B".repeat(32),
            "2C".repeat(32)
        )
        .into_bytes(),
    ];
    assemble(
        &objs,
        "/Encrypt 4 0 R /ID [<0123456789ABCDEF0123456789ABCDEF> <0123456789ABCDEF0123456789ABCDEF>]",
    )
}
