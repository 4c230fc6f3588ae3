// Past 400 lines by its tests (~170); the IDX and CSV parsers share their size bounds and fault helpers.
//! Parsers for data a user brings: IDX files (the MNIST / Fashion-MNIST format, raw or
//! gzip) and CSV (a label column, then the feature columns). The page and the CLI share
//! them. Every fault is an [`Error::File`] that names the file, and the byte offset or the
//! line and column, so a user can find it; sizes are bounded before anything is allocated.
//!
//! IDX (LeCun et al., <http://yann.lecun.com/exdb/mnist/>): two zero bytes, a type code
//! (0x08 u8, 0x09 i8, 0x0B i16, 0x0C i32, 0x0D f32, 0x0E f64), the number of dimensions,
//! each dimension as a big-endian u32, then the values, big-endian, row-major.

use std::io::Read;

use crate::error::{Error, Result};

/// The most values (samples x features) an upload may hold: 2^26, 256 MiB of f32.
pub const MAX_VALUES: usize = 1 << 26;
/// The most bytes a gzip file may inflate to (IDX doubles of `MAX_VALUES`, plus a header).
pub const MAX_INFLATED: usize = 8 * MAX_VALUES + 64;
/// The largest file read at all (the page checks `File.size`, the CLI the file's length, before
/// reading): no file the parsers accept can be larger than this.
pub const MAX_FILE_BYTES: usize = MAX_INFLATED;
/// The most features one CSV row may have: a dense first layer of width 1 already holds
/// `features` weights, and `limits::MAX_WEIGHTS` (2^23) bounds those, so no wider row can train.
pub const MAX_FEATURES: usize = 1 << 23;
/// The fewest samples a run can split into a training and a test set (data.rs checks every
/// data set; the preview checks an upload's at once, naming the file).
pub const MIN_SAMPLES: usize = 4;
/// Labels must be whole numbers below this.
pub const MAX_CLASSES: usize = 1000;

/// A labelled data set from a file: `[N, F]` row-major features and one label per row.
#[derive(Clone, Debug, PartialEq)]
pub struct Labelled {
    pub x: Vec<f32>,
    pub y: Vec<u32>,
    pub features: usize,
    /// One more than the largest label.
    pub classes: usize,
    /// Height and width when the samples are images (IDX with 3 dimensions).
    pub image: Option<(usize, usize)>,
}

/// An IDX array: its dimensions and its values as f32.
#[derive(Clone, Debug, PartialEq)]
pub struct Idx {
    pub dims: Vec<usize>,
    pub values: Vec<f32>,
}

fn fault(name: &str, what: impl std::fmt::Display) -> Error {
    Error::file(name, what)
}

/// Inflates `bytes` if they are gzip (magic 1f 8b), refusing more than `MAX_INFLATED`.
/// It inflates twice: once counting, so a file that inflates too far is refused before any
/// of it is held, then into a buffer of exactly the size (no doubling slack, no copies).
pub fn gunzip_if_needed<'a>(name: &str, bytes: &'a [u8]) -> Result<std::borrow::Cow<'a, [u8]>> {
    if !bytes.starts_with(&[0x1f, 0x8b]) {
        return Ok(std::borrow::Cow::Borrowed(bytes));
    }
    let mut head: Vec<u8> = Vec::with_capacity(2);
    let size = inflate(name, bytes, |chunk| { let want = 2 - head.len(); head.extend(chunk.iter().copied().take(want)) })?;
    if head == [0x1f, 0x8b] {
        // Every parser inflates what it is given: a gzip inside a gzip would be inflated twice,
        // the inner one unchecked by this pass (a 1 KB file could fill the tab's memory).
        return Err(fault(name, "bytes 0..2 of the inflated file: gzip inside gzip; gunzip it once and try again"));
    }
    let mut out = Vec::with_capacity(size);
    inflate(name, bytes, |chunk| out.extend_from_slice(chunk))?;
    Ok(std::borrow::Cow::Owned(out))
}

/// Feeds the inflated bytes of gzip `bytes` to `sink` chunk by chunk; returns their count.
fn inflate(name: &str, bytes: &[u8], mut sink: impl FnMut(&[u8])) -> Result<usize> {
    let mut reader = flate2::read::GzDecoder::new(bytes);
    let (mut total, mut chunk) = (0, vec![0u8; 1 << 15]);
    loop {
        match reader.read(&mut chunk) {
            Ok(0) => return Ok(total),
            Ok(n) => {
                total += n;
                if total > MAX_INFLATED {
                    return Err(fault(name, format!("gzip inflates to more than {MAX_INFLATED} bytes, too large for a browser tab")));
                }
                sink(&chunk[..n]);
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => {
                let cut = e.kind() == std::io::ErrorKind::UnexpectedEof || e.to_string().contains("incomplete");
                let hint = if cut { "; is the file cut short?" } else { "" };
                return Err(fault(name, format!("gzip: {e} (after {total} inflated bytes{hint})")));
            }
        }
    }
}

/// Parses one IDX file (raw or gzip).
pub fn parse_idx(name: &str, bytes: &[u8]) -> Result<Idx> {
    let bytes = gunzip_if_needed(name, bytes)?;
    let b = &bytes[..];
    if b.is_empty() {
        return Err(fault(name, "the file is empty"));
    }
    if b.len() < 4 {
        return Err(fault(name, format!("truncated header: the file ends before byte {}; an IDX header has at least 4 bytes", b.len())));
    }
    if b[0] != 0 || b[1] != 0 {
        return Err(Error::file_at_byte(name, 0, format!("wrong magic {:02x} {:02x}; an IDX file starts with two zero bytes", b[0], b[1])));
    }
    let width = match b[2] {
        0x08 | 0x09 => 1,
        0x0B => 2,
        0x0C | 0x0D => 4,
        0x0E => 8,
        code => return Err(Error::file_at_byte(name, 2, format!("unknown data type 0x{code:02x} (expected 08, 09, 0b, 0c, 0d or 0e)"))),
    };
    let ndims = b[3] as usize;
    if !(1..=4).contains(&ndims) {
        return Err(Error::file_at_byte(name, 3, format!("{ndims} dimensions; spikeplay reads 1 to 4")));
    }
    let header = 4 + 4 * ndims;
    if b.len() < header {
        return Err(fault(name, format!("truncated header: the file ends before byte {}; {ndims} dimensions need {header} bytes", b.len())));
    }
    let mut dims = Vec::with_capacity(ndims);
    for i in 0..ndims {
        let at = 4 + 4 * i;
        let d = u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]]) as usize;
        if d == 0 {
            return Err(Error::file_at_byte(name, at, format!("dimension {} is 0", i + 1)));
        }
        dims.push(d);
    }
    let count = dims.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d)).filter(|&n| n <= MAX_VALUES);
    let Some(count) = count else {
        let shown: Vec<String> = dims.iter().map(|d| d.to_string()).collect();
        return Err(fault(name, format!("bytes 4..{header}: dimensions {} exceed {MAX_VALUES} values, too large for a browser tab", shown.join(" x "))));
    };
    let need = header + count * width;
    if b.len() < need {
        return Err(fault(name, format!("truncated data: {} bytes of values after byte {header}, the dimensions need {}", b.len() - header, count * width)));
    }
    if b.len() > need {
        return Err(Error::file_at_byte(name, need, format!("{} bytes after the last value; the dimensions do not match the file", b.len() - need)));
    }
    let data = &b[header..];
    let mut values = Vec::with_capacity(count);
    for (i, c) in data.chunks_exact(width).enumerate() {
        let v = match (b[2], c) {
            (0x08, [x]) => *x as f32,
            (0x09, [x]) => *x as i8 as f32,
            (0x0B, [a, b2]) => i16::from_be_bytes([*a, *b2]) as f32,
            (0x0C, [a, b2, c2, d]) => i32::from_be_bytes([*a, *b2, *c2, *d]) as f32,
            (0x0D, [a, b2, c2, d]) => f32::from_be_bytes([*a, *b2, *c2, *d]),
            (_, c) => f64::from_be_bytes(c.try_into().unwrap_or([0; 8])) as f32,
        };
        if !v.is_finite() {
            return Err(Error::file_at_byte(name, header + i * width, format!("value {} is {v}", i + 1)));
        }
        values.push(v);
    }
    Ok(Idx { dims, values })
}

/// Where label `i` stands in its file (for its error): an IDX byte, or a CSV line (column 1).
enum LabelAt {
    Byte(usize),
    Line(u64),
}

/// Labels from floats that must be whole numbers in `0..MAX_CLASSES`; `at(i)` locates one.
fn labels(name: &str, raw: &[f32], at: impl Fn(usize) -> LabelAt) -> Result<(Vec<u32>, usize)> {
    let mut y = Vec::with_capacity(raw.len());
    for (i, &v) in raw.iter().enumerate() {
        if v < 0.0 || v.fract() != 0.0 || v as usize >= MAX_CLASSES {
            let what = format!("label {v} is not a whole number in 0..{MAX_CLASSES}");
            return Err(match at(i) {
                LabelAt::Byte(b) => Error::file_at_byte(name, b, what),
                LabelAt::Line(l) => Error::file_at_line(name, l, format!(", column 1: {what}")),
            });
        }
        y.push(v as u32);
    }
    let classes = y.iter().max().map_or(0, |&m| m as usize + 1);
    if y.iter().all(|&l| l == y[0]) {
        return Err(fault(name, "every label is the same; a classifier needs at least two classes"));
    }
    Ok((y, classes))
}

/// Pairs an IDX images file (`[N, ...]`) with an IDX labels file (`[N]`).
pub fn parse_idx_pair(images: (&str, &[u8]), labels_file: (&str, &[u8])) -> Result<Labelled> {
    let img = parse_idx(images.0, images.1)?;
    let lab = parse_idx(labels_file.0, labels_file.1)?;
    if lab.dims.len() != 1 {
        return Err(Error::file_at_byte(labels_file.0, 3, format!("a labels file has 1 dimension, this one {} (is it the images file?)", lab.dims.len())));
    }
    if img.dims.len() < 2 {
        return Err(Error::file_at_byte(images.0, 3, "an images file has at least 2 dimensions (samples, then pixels); this one has 1 (is it the labels file?)"));
    }
    if img.dims[0] != lab.dims[0] {
        return Err(Error::file(format!("{} + {}", images.0, labels_file.0), format!("{} has {} samples but {} has {} labels", images.0, img.dims[0], labels_file.0, lab.dims[0])));
    }
    let header = 4 + 4 * lab.dims.len();
    let (y, classes) = labels(labels_file.0, &lab.values, |i| LabelAt::Byte(header + i))?;
    let features = img.dims[1..].iter().product();
    let image = (img.dims.len() == 3).then(|| (img.dims[1], img.dims[2]));
    Ok(Labelled { x: img.values, y, features, classes, image })
}

/// Parses CSV text: one sample per row, the label in the first column, then the features.
/// A first row whose label is not a number is taken as a header.
pub fn parse_csv(name: &str, bytes: &[u8]) -> Result<Labelled> {
    let bytes = gunzip_if_needed(name, bytes)?;
    if let Err(e) = std::str::from_utf8(&bytes) {
        let at = e.valid_up_to();
        let looks = match &bytes[..] {
            [0x89, b'P', b'N', b'G', ..] => " (it looks like a PNG image)",
            [0xFF, 0xD8, 0xFF, ..] => " (it looks like a JPEG image)",
            [b'P', b'K', 3, 4, ..] => " (it looks like a zip archive; unzip it first)",
            _ => "",
        };
        return Err(Error::file_at_byte(name, at, format!("not text{looks}; a CSV is UTF-8 text, one sample per line")));
    }
    // The csv crate keeps a position per field of the row it reads: a 512 MiB line of commas
    // would ask for gigabytes (and overflow wasm32's address space) before any check below.
    // Commas are counted first, line by line, in one pass over the bytes. (A comma inside
    // quotes counts too: such a row can only be over-counted, never let through.)
    let (mut line, mut commas) = (1u64, 0usize);
    for &b in bytes.iter() {
        match b {
            b'\n' => (line, commas) = (line + 1, 0),
            b',' => {
                commas += 1;
                if commas > MAX_FEATURES {
                    return Err(Error::file_at_line(name, line, format!(": more than {MAX_FEATURES} features in one row, more than any network here can take")));
                }
            }
            _ => {}
        }
    }
    let mut reader = csv::ReaderBuilder::new().has_headers(false).flexible(true).trim(csv::Trim::All).from_reader(&bytes[..]);
    let (mut x, mut raw_labels, mut lines) = (Vec::new(), Vec::new(), Vec::new());
    let (mut features, mut first) = (None, true);
    for (row, record) in reader.records().enumerate() {
        let record = record.map_err(|e| Error::file_at_line(name, e.position().map_or(row as u64 + 1, |p| p.line()), format!(": {e}")))?;
        let line = record.position().map_or(row as u64 + 1, |p| p.line());
        if record.iter().all(|f| f.is_empty()) {
            continue; // blank lines, e.g. at the end
        }
        let n = record.len();
        if n < 2 {
            let field = record.get(0).unwrap_or_default();
            let other = [';', '\t', '|', ' '].into_iter().find(|&c| field.contains(c));
            let hint = other.map_or(String::new(), |c| format!(" (this line seems separated by {c:?}; a CSV here is separated by commas)"));
            return Err(Error::file_at_line(name, line, format!(": 1 column; a row is a label and at least one feature{hint}")));
        }
        if std::mem::take(&mut first) && record.get(0).is_some_and(|f| f.parse::<f32>().is_err()) {
            continue; // a header: the first row that is not blank
        }
        let want = *features.get_or_insert(n - 1);
        if n - 1 != want {
            return Err(Error::file_at_line(name, line, format!(": {} features, the rows above have {want}", n - 1)));
        }
        if x.len() + want > MAX_VALUES {
            return Err(Error::file_at_line(name, line, format!(": more than {MAX_VALUES} values, too large for a browser tab")));
        }
        for (c, field) in record.iter().enumerate() {
            let v: f32 = field.parse().map_err(|_| Error::file_at_line(name, line, format!(", column {}: {field:?} is not a number", c + 1)))?;
            if !v.is_finite() {
                return Err(Error::file_at_line(name, line, format!(", column {}: {field} is not a finite number", c + 1)));
            }
            if c == 0 {
                raw_labels.push(v);
            } else {
                x.push(v);
            }
        }
        lines.push(line);
    }
    let Some(features) = features.filter(|_| !raw_labels.is_empty()) else {
        return Err(fault(name, "no data rows"));
    };
    let (y, classes) = labels(name, &raw_labels, |i| LabelAt::Line(lines[i]))?;
    Ok(Labelled { x, y, features, classes, image: None })
}

/// A file as the page or the CLI hands it over: its name (for messages) and its bytes.
#[derive(Clone, Debug, PartialEq, serde::Deserialize)]
pub struct DataFile {
    pub name: String,
    #[serde(with = "serde_bytes")]
    pub bytes: Vec<u8>,
}

impl DataFile {
    pub fn new(name: impl Into<String>, bytes: Vec<u8>) -> Self {
        Self { name: name.into(), bytes }
    }
}

/// Parses what a user brought: one CSV file, or an IDX images file and an IDX labels file
/// in either order (the labels file is the one with one dimension).
pub fn parse_files(files: &[DataFile]) -> Result<Labelled> {
    Ok(parse_ordered(files)?.0)
}

/// [`parse_files`], with the file names images first. Each file is inflated once: its
/// header decides what it is, and the parsers then read the inflated bytes.
fn parse_ordered(files: &[DataFile]) -> Result<(Labelled, Vec<String>)> {
    let inflated = files.iter().map(|f| gunzip_if_needed(&f.name, &f.bytes)).collect::<Result<Vec<_>>>()?;
    // An IDX file starts with two zero bytes; byte 3 is its number of dimensions.
    let is_idx = |b: &[u8]| b.starts_with(&[0, 0]);
    let is_labels = |b: &[u8]| b.get(3) == Some(&1);
    match (files, &inflated[..]) {
        ([], _) => Err(Error::parse("no file given: drop an IDX images + labels pair or one CSV file")),
        ([one], [bytes]) if is_idx(bytes) => {
            let (what, other) = if is_labels(bytes) { ("a labels file", "images") } else { ("an images file", "labels") };
            parse_idx(&one.name, bytes)?;
            Err(fault(&one.name, format!("this is {what}; add the matching IDX {other} file (select or drop both at once)")))
        }
        ([one], [bytes]) => Ok((parse_csv(&one.name, bytes)?, vec![one.name.clone()])),
        ([a, b], [ab, bb]) => {
            for (f, bytes) in [(a, ab), (b, bb)] {
                if !is_idx(bytes) {
                    return Err(Error::file_at_byte(&f.name, 0, "not an IDX file (it does not start with two zero bytes); two files must be an IDX images + labels pair, a CSV comes alone"));
                }
            }
            let ((images, ib), (labels, lb)) = if is_labels(ab) && !is_labels(bb) { ((b, bb), (a, ab)) } else { ((a, ab), (b, bb)) };
            let data = parse_idx_pair((&images.name, ib), (&labels.name, lb))?;
            Ok((data, vec![images.name.clone(), labels.name.clone()]))
        }
        (more, _) => Err(Error::parse(format!("{} files given: drop an IDX images + labels pair or one CSV file", more.len()))),
    }
}

impl Labelled {
    /// Smallest and largest feature value.
    pub fn extent(&self) -> (f32, f32) {
        self.x.iter().fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &v| (lo.min(v), hi.max(v)))
    }

    /// Scales every feature by the file's global extent into [0, 1] (one scale for all
    /// features, so relative intensities survive; a constant file maps to 0).
    /// The arithmetic is in f64: in f32, `hi - lo` overflows to infinity for values
    /// beyond +-1.7e38 and the scaled values became NaN.
    pub fn scale_to_unit(&mut self) {
        let (lo, hi) = self.extent();
        let (lo, hi) = (lo as f64, hi as f64);
        let span = if hi > lo { hi - lo } else { 1.0 };
        for v in &mut self.x {
            *v = ((*v as f64 - lo) / span) as f32;
        }
    }

    pub fn len(&self) -> usize {
        self.y.len()
    }

    pub fn is_empty(&self) -> bool {
        self.y.is_empty()
    }
}

/// How many samples a [`Preview`] carries.
pub const PREVIEW_SAMPLES: usize = 8;
/// At most this many features of each previewed sample (an image of up to 64 x 64).
pub const PREVIEW_FEATURES: usize = 4096;

/// What the page shows of a parsed upload before training on it.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Preview {
    /// "idx" or "csv".
    pub format: String,
    /// The file names, images first.
    pub files: Vec<String>,
    pub samples: u32,
    pub features: u32,
    pub classes: u32,
    /// `[height, width]`, empty unless the samples are images.
    pub image: Vec<u32>,
    /// Samples per class, `classes` entries.
    pub counts: Vec<u32>,
    /// Label values below `classes` that no sample has (labels are class indices, so
    /// labels 0 and 200 make 201 outputs, 199 of them never the answer).
    pub empty_classes: u32,
    /// The raw extent `[min, max]`, before scaling to [0, 1].
    pub extent: Vec<f32>,
    /// The first samples' labels and their scaled features (capped at PREVIEW_FEATURES).
    pub labels: Vec<u32>,
    pub values: Vec<f32>,
}

/// Parses `files` and summarizes them (see [`Preview`]).
pub fn preview(files: &[DataFile]) -> Result<Preview> {
    let (mut data, names) = parse_ordered(files)?;
    if data.len() < MIN_SAMPLES {
        return Err(fault(&names.join(" + "), format!("{} samples; at least {MIN_SAMPLES} are needed to split into train and test", data.len())));
    }
    let (lo, hi) = data.extent();
    data.scale_to_unit();
    let n = data.len().min(PREVIEW_SAMPLES);
    let shown = data.features.min(PREVIEW_FEATURES);
    let mut counts = vec![0u32; data.classes];
    for &l in &data.y {
        counts[l as usize] += 1;
    }
    Ok(Preview {
        format: if files.len() == 2 { "idx".into() } else { "csv".into() },
        files: names,
        samples: data.len() as u32,
        features: data.features as u32,
        classes: data.classes as u32,
        image: data.image.map_or(vec![], |(h, w)| vec![h as u32, w as u32]),
        empty_classes: counts.iter().filter(|&&c| c == 0).count() as u32,
        counts,
        extent: vec![lo, hi],
        labels: data.y[..n].to_vec(),
        values: (0..n).flat_map(|i| data.x[i * data.features..i * data.features + shown].to_vec()).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An IDX file of `code` with `dims` and raw big-endian `data`.
    fn idx(code: u8, dims: &[u32], data: &[u8]) -> Vec<u8> {
        let mut b = vec![0, 0, code, dims.len() as u8];
        for d in dims {
            b.extend_from_slice(&d.to_be_bytes());
        }
        b.extend_from_slice(data);
        b
    }

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        use std::io::Write;
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(bytes).unwrap();
        e.finish().unwrap()
    }

    fn err(r: Result<impl std::fmt::Debug>) -> String {
        r.expect_err("should fail").to_string()
    }

    #[test]
    fn reads_u8_images_and_labels_raw_and_gzip() {
        let images = idx(0x08, &[3, 2, 2], &[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 255]);
        let labels = idx(0x08, &[3], &[1, 0, 2]);
        let want = Labelled { x: vec![0., 1., 2., 3., 4., 5., 6., 7., 8., 9., 10., 255.], y: vec![1, 0, 2], features: 4, classes: 3, image: Some((2, 2)) };
        assert_eq!(parse_idx_pair(("img", &images), ("lab", &labels)).unwrap(), want);
        assert_eq!(parse_idx_pair(("img", &gzip(&images)), ("lab", &gzip(&labels))).unwrap(), want);
    }

    #[test]
    fn reads_every_idx_type_big_endian() {
        assert_eq!(parse_idx("f", &idx(0x09, &[2], &[0xff, 0x05])).unwrap().values, vec![-1.0, 5.0]);
        assert_eq!(parse_idx("f", &idx(0x0B, &[1], &[0x01, 0x00])).unwrap().values, vec![256.0]);
        assert_eq!(parse_idx("f", &idx(0x0C, &[1], &[0xff, 0xff, 0xff, 0xfe])).unwrap().values, vec![-2.0]);
        assert_eq!(parse_idx("f", &idx(0x0D, &[1], &1.5f32.to_be_bytes())).unwrap().values, vec![1.5]);
        assert_eq!(parse_idx("f", &idx(0x0E, &[1], &(-0.25f64).to_be_bytes())).unwrap().values, vec![-0.25]);
    }

    #[test]
    fn malformed_idx_files_name_the_problem_and_the_byte() {
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (vec![], "empty"),
            (vec![0, 0, 8], "truncated header: the file ends before byte 3; an IDX header has at least 4 bytes"),
            (vec![0x50, 0x4b, 3, 4, 0, 0, 0, 0], "byte 0: wrong magic 50 4b"),
            (vec![0, 0, 0x07, 1, 0, 0, 0, 1, 0], "byte 2: unknown data type 0x07"),
            (vec![0, 0, 8, 0], "byte 3: 0 dimensions"),
            (vec![0, 0, 8, 2, 0, 0, 0, 1], "truncated header: the file ends before byte 8; 2 dimensions need 12 bytes"),
            (idx(0x08, &[2, 0], &[]), "byte 8: dimension 2 is 0"),
            (idx(0x08, &[3, 2], &[1, 2, 3]), "truncated data: 3 bytes of values after byte 12, the dimensions need 6"),
            (idx(0x08, &[1], &[1, 2]), "byte 9: 1 bytes after the last value"),
            (idx(0x08, &[60000, 28, 28, 28], &[]), "exceed 67108864 values"),
            (idx(0x0D, &[2], &[0, 0, 0, 0, 0x7f, 0xc0, 0, 0]), "byte 12: value 2 is NaN"),
        ];
        for (bytes, want) in cases {
            let e = err(parse_idx("t10k-images", &bytes));
            assert!(e.starts_with("t10k-images: ") && e.contains(want), "{e:?} should contain {want:?}");
        }
        assert!(err(parse_idx("g", &[0x1f, 0x8b, 8, 0, 1, 2])).contains("gzip"), "a broken gzip stream");
    }

    #[test]
    fn mismatched_idx_pairs_are_explained() {
        let images = idx(0x08, &[3, 2, 2], &[0; 12]);
        let labels = idx(0x08, &[2], &[0, 1]);
        assert!(err(parse_idx_pair(("img", &images), ("lab", &labels))).contains("img has 3 samples but lab has 2 labels"));
        assert!(err(parse_idx_pair(("lab", &labels), ("img", &images))).contains("is it the images file?"));
        let float_labels = idx(0x0D, &[2], &[0x3f, 0xc0, 0, 0, 0, 0, 0, 0]);
        let two = idx(0x08, &[2, 1], &[0, 0]);
        assert!(err(parse_idx_pair(("img", &two), ("lab", &float_labels))).contains("byte 8: label 1.5 is not a whole number"));
        let same = idx(0x08, &[2], &[4, 4]);
        assert!(err(parse_idx_pair(("img", &two), ("lab", &same))).contains("at least two classes"));
    }

    #[test]
    fn hostile_shapes_are_refused_cheaply_naming_the_file() {
        // A gzip inside a gzip: the outer one is small, the inner one is what a second pass
        // would inflate unchecked.
        let nested = gzip(&gzip(&vec![0u8; 1 << 20]));
        let err = parse_files(&[DataFile::new("bomb.gz", nested)]).expect_err("nested").to_string();
        assert!(err.contains("bomb.gz: bytes 0..2 of the inflated file: gzip inside gzip"), "{err}");
        // One row of more commas than any network can take: refused before the csv reader
        // keeps a position per field.
        let wide = format!("0{}\n", ",1".repeat(MAX_FEATURES + 1));
        let err = parse_csv("wide.csv", wide.as_bytes()).expect_err("wide").to_string();
        assert!(err.contains("wide.csv: line 1: more than 8388608 features"), "{err}");
        // Too few samples to split: the preview says so, naming the file.
        let err = preview(&[DataFile::new("three.csv", b"0,1\n1,2\n0,3\n".to_vec())]).expect_err("3 rows").to_string();
        assert!(err.contains("three.csv: 3 samples; at least 4"), "{err}");
        assert!(preview(&[DataFile::new("four.csv", b"0,1\n1,2\n0,3\n1,4\n".to_vec())]).is_ok());
    }

    #[test]
    fn csv_with_and_without_header() {
        let plain = parse_csv("d.csv", b"1,0.5,2\n0,1,-3\n\n").unwrap();
        assert_eq!(plain, Labelled { x: vec![0.5, 2.0, 1.0, -3.0], y: vec![1, 0], features: 2, classes: 2, image: None });
        let headed = parse_csv("d.csv", b"label,a,b\n1, 0.5 ,2\n0,1,-3\n").unwrap();
        assert_eq!(headed, plain);
    }

    #[test]
    fn binary_files_are_not_taken_for_csv_and_cut_gzip_says_so() {
        let png = [0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 0x0D];
        let e = err(parse_csv("picture.csv", &png));
        assert!(e.contains("picture.csv: byte 0: not text (it looks like a PNG image)"), "{e}");
        let e = err(parse_csv("t.csv", b"0,1\n1,\xff\n"));
        assert!(e.contains("byte 6: not text"), "{e}");
        let whole = gzip(&idx(0x08, &[4], &[0, 1, 2, 3]));
        let e = err(parse_idx("cut.gz", &whole[..whole.len() - 6]));
        assert!(e.contains("cut.gz: gzip:") && e.contains("cut short"), "{e}");
        let e = err(parse_files(&[DataFile::new("lab.idx", idx(0x08, &[2], &[0, 1]))]));
        assert!(e.contains("lab.idx: this is a labels file; add the matching IDX images file"), "{e}");
    }

    #[test]
    fn preview_counts_classes_and_flags_unused_labels() {
        let csv = "0,1\n5,2\n0,3\n0,2\n";
        let p = preview(&[DataFile::new("gap.csv", csv.as_bytes().to_vec())]).unwrap();
        assert_eq!((p.samples, p.classes, p.empty_classes), (4, 6, 4));
        assert_eq!(p.counts, vec![3, 0, 0, 0, 0, 1]);
        assert_eq!(p.values, vec![0.0, 0.5, 1.0, 0.5], "one global scale to [0, 1]");
    }

    #[test]
    fn csv_quirks_a_bom_blank_lines_before_the_header_and_other_separators() {
        let want = Labelled { x: vec![2.0, 3.0], y: vec![1, 0], features: 1, classes: 2, image: None };
        for text in ["\u{feff}1,2\n0,3\n", "\u{feff}label,a\r\n1,2\r\n0,3", " \n\nlabel,a\n1,2\n0,3\n", "1,2\r0,3\r"] {
            assert_eq!(parse_csv("q.csv", text.as_bytes()).unwrap(), want, "{text:?}");
        }
        // A ';'-separated file used to lose its first row as a "header" and then fail on
        // line 2 without saying why (found by tests/fuzz/).
        let e = err(parse_csv("semi.csv", b"1;2\n0;3\n"));
        assert_eq!(e, "semi.csv: line 1: 1 column; a row is a label and at least one feature (this line seems separated by ';'; a CSV here is separated by commas)");
        assert!(err(parse_csv("tab.csv", b"label\ta\n1\t2\n")).contains("line 1: 1 column; a row is a label and at least one feature (this line seems separated by '\\t'"));
    }

    /// Found by tests/fuzz/: f32 values near the type's limits scaled to NaN.
    #[test]
    fn scaling_survives_values_at_the_limits_of_f32() {
        let csv = format!("0,{}\n1,{}\n0,0\n1,0\n", f32::MAX, -f32::MAX);
        let p = preview(&[DataFile::new("edge.csv", csv.into_bytes())]).unwrap();
        assert_eq!(p.values, vec![1.0, 0.0, 0.5, 0.5]);
        let raw = idx(0x0D, &[4, 1], &[[0x7f, 0x7f, 0xff, 0xff], [0xff, 0x7f, 0xff, 0xff], [0, 0, 0, 0], [0, 0, 0, 0]].concat());
        let labels = idx(0x08, &[4], &[0, 1, 0, 1]);
        let p = preview(&[DataFile::new("img", raw), DataFile::new("lab", labels)]).unwrap();
        assert_eq!(p.values, vec![1.0, 0.0, 0.5, 0.5]);
    }

    #[test]
    fn malformed_csv_names_the_line_and_column() {
        let cases: [(&[u8], &str); 8] = [
            (b"", "no data rows"),
            (b"label,a\n", "no data rows"),
            (b"1,2,3\n0,1\n", "line 2: 1 features, the rows above have 2"),
            (b"1,2\n0,x\n", "line 2, column 2: \"x\" is not a number"),
            (b"1,2\n0,NaN\n", "line 2, column 2: NaN is not a finite number"),
            (b"1,2\n-1,3\n", "line 2, column 1: label -1 is not a whole number"),
            (b"1,2\n0.5,3\n", "line 2, column 1: label 0.5"),
            (b"1\n0\n", "line 1: 1 column"),
        ];
        for (text, want) in cases {
            let e = err(parse_csv("mine.csv", text));
            assert!(e.starts_with("mine.csv: ") && e.contains(want), "{e:?} should contain {want:?}");
        }
    }
}
