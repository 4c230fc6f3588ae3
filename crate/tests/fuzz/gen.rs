//! Generators of the fuzz properties: valid shapes reached deep, then broken.

use proptest::prelude::*;
use spikeplay::schema::{self, Kind};
use spikeplay::ExperimentConfig;


/// The fields and the values they take come from the schema (`spikeplay::schema`), so a field
/// added to the config is fuzzed without a word here.
fn kind_of(field: &str) -> Option<Kind> {
    schema::field(field).map(|f| f.kind)
}

/// An enum field's serde names.
fn options_of(field: &str) -> &'static [String] {
    schema::field(field).map_or(&[], |f| f.options.as_slice())
}

/// Every field once, and a few that many rules read (samples, depth, residual) twice, so
/// that they change more often.
pub fn all_fields() -> Vec<&'static str> {
    schema::fields().iter().map(|f| f.name).chain(["samples", "depth", "residual"]).collect()
}

/// Integers at and around every bound, and any.
pub fn edge_int() -> impl Strategy<Value = u64> {
    let edges = vec![0, 1, 2, 3, 6, 7, 8, 9, 32, 64, 128, 256, 257, 1024, 1025, 4096, 4097, 100_000, 100_001, 1 << 23, 1 << 24, (1 << 53) - 1, 1 << 53, u32::MAX as u64, u64::MAX / 2, u64::MAX];
    prop_oneof![4 => 0u64..=300, 3 => proptest::sample::select(edges), 1 => any::<u64>()]
}

/// Floats at and around every bound, non-finite ones, and any.
pub fn edge_float() -> impl Strategy<Value = f64> {
    let edges = vec![0.0, -0.0, 1e-8, 9e-9, 0.01, 0.05, 0.9, 0.91, 1.0, 1.0001, 10.0, 100.0, 100.01, -1.0, 3.5e38, 1e308, f64::MIN_POSITIVE, 1e-320, f64::NAN, f64::INFINITY, f64::NEG_INFINITY];
    prop_oneof![4 => -2.0..2.0f64, 3 => proptest::sample::select(edges), 1 => any::<f64>()]
}

/// Number tokens as JSON text, including ones no f64 or u64 holds.
pub fn number_text() -> impl Strategy<Value = String> {
    let odd = vec!["-1", "1e308", "-1e308", "1e400", "-1e400", "1e-400", "18446744073709551616", "18446744073709551615", "9007199254740993", "-0", "1.0", "1e30", "0.5e1", "-9223372036854775809", "1E2", "NaN", "Infinity", "01", "1.", ".5", "+1"];
    prop_oneof![
        3 => edge_int().prop_map(|v| v.to_string()),
        2 => edge_float().prop_filter("finite", |v| v.is_finite()).prop_map(|v| format!("{v:e}")),
        2 => proptest::sample::select(odd).prop_map(str::to_owned),
    ]
}

pub fn string_text() -> impl Strategy<Value = String> {
    let names: Vec<&str> = schema::fields().iter().flat_map(|f| f.options.iter().map(String::as_str)).chain(["", "PSP", "Psp", "psp ", "x"]).collect();
    prop_oneof![proptest::sample::select(names).prop_map(str::to_owned), any::<String>()].prop_map(|s| serde_json::to_string(&s).unwrap_or_default())
}

/// Any JSON value as text, nested a few levels.
pub fn json_text() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![number_text(), string_text(), Just("null".to_owned()), Just("true".to_owned()), Just("false".to_owned())];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(|v| format!("[{}]", v.join(","))),
            proptest::collection::vec((string_text(), inner), 0..4).prop_map(|kv| format!("{{{}}}", kv.iter().map(|(k, v)| format!("{k}:{v}")).collect::<Vec<_>>().join(","))),
        ]
    })
}

/// A value of the field's own type, mostly; sometimes any JSON value.
pub fn field_value(field: &'static str) -> BoxedStrategy<String> {
    let typed: BoxedStrategy<String> = match kind_of(field) {
        Some(Kind::Enum) => proptest::sample::select(options_of(field).to_vec()).prop_map(|n| format!("{n:?}")).boxed(),
        Some(Kind::Int) => prop_oneof![8 => edge_int().prop_map(|v| v.to_string()), 1 => number_text()].boxed(),
        Some(Kind::Float) => prop_oneof![8 => edge_float().prop_filter("finite", |v| v.is_finite()).prop_map(|v| format!("{v:?}")), 1 => number_text()].boxed(),
        _ => any::<bool>().prop_map(|b| b.to_string()).boxed(),
    };
    prop_oneof![9 => typed, 1 => json_text()].boxed()
}


/// `(text, keys, well_formed)`: a JSON object of config fields (and sometimes unknown or
/// repeated keys), or that text cut and mutated, or any string.
pub fn config_text() -> impl Strategy<Value = (String, Vec<String>, bool)> {
    let entry = proptest::sample::select(all_fields()).prop_flat_map(|f| (Just(f.to_owned()), field_value(f)));
    let unknown = prop_oneof![Just("depht".to_owned()), Just("Depth".to_owned()), Just("".to_owned()), any::<String>()];
    let object = (proptest::collection::vec(entry, 0..12), proptest::option::weighted(0.1, (unknown, json_text()))).prop_map(|(mut kv, extra)| {
        kv.extend(extra);
        let body: Vec<String> = kv.iter().map(|(k, v)| format!("{}: {v}", serde_json::to_string(k).unwrap_or_default())).collect();
        (format!("{{{}}}", body.join(", ")), kv.into_iter().map(|(k, _)| k).collect::<Vec<_>>(), true)
    }).boxed();
    prop_oneof![
        6 => object.clone(),
        2 => (object, mutations()).prop_map(|((text, keys, _), m)| (String::from_utf8_lossy(&mutate(text.into_bytes(), &m)).into_owned(), keys, false)),
        1 => json_text().prop_map(|t| (t, vec![], false)),
        1 => any::<String>().prop_map(|t| (t, vec![], false)),
    ]
}

/// A config with any field values, bounds and beyond.
pub fn config_values() -> impl Strategy<Value = ExperimentConfig> {
    let changes = proptest::collection::vec((proptest::sample::select(all_fields()), edge_int(), edge_float(), any::<bool>(), any::<usize>()), 0..14);
    changes.prop_map(|changes| {
        let mut value = serde_json::to_value(ExperimentConfig::default()).unwrap_or_default();
        for (field, int, float, flag, pick) in changes {
            let v = match kind_of(field) {
                Some(Kind::Enum) => serde_json::json!(options_of(field)[pick % options_of(field).len()]),
                Some(Kind::Int) => serde_json::json!(int),
                // JSON has no NaN or infinity: those are set below, after parsing.
                Some(Kind::Float) if float.is_finite() => serde_json::json!(float),
                Some(Kind::Float) => serde_json::json!(0.5),
                _ => serde_json::json!(flag),
            };
            value[field] = v;
        }
        serde_json::from_value(value).unwrap_or_default()
    })
    .prop_flat_map(|cfg: ExperimentConfig| (Just(cfg), proptest::option::weighted(0.2, (0..10usize, edge_float()))))
    .prop_map(|(mut cfg, nonfinite)| {
        if let Some((i, v)) = nonfinite {
            match i {
                0 => cfg.noise = v as f32,
                1 => cfg.test_fraction = v as f32,
                2 => cfg.beta = v as f32,
                3 => cfg.theta = v as f32,
                4 => cfg.psp_lambda = v as f32,
                5 => cfg.surrogate_width = v as f32,
                6 => cfg.psp_eps = v,
                7 => cfg.init_scale = v as f32,
                8 => cfg.lr = v,
                _ => cfg.weight_decay = v,
            }
        }
        cfg
    })
}

pub fn image_size() -> impl Strategy<Value = (usize, usize)> {
    let edge = proptest::sample::select(vec![0, 1, 2, 3, 7, 8, 14, 28, 64, 1 << 16, usize::MAX / 2, usize::MAX]);
    prop_oneof![3 => (1usize..=64, 1usize..=64), 1 => (edge.clone(), edge), 1 => (any::<usize>(), 1usize..=64)]
}

/// Byte-level damage: `(kind, position, value)` triples applied in order.
pub fn mutations() -> impl Strategy<Value = Vec<(u8, usize, u8)>> {
    proptest::collection::vec((0u8..5, any::<usize>(), any::<u8>()), 0..4)
}

pub fn mutate(mut b: Vec<u8>, m: &[(u8, usize, u8)]) -> Vec<u8> {
    for &(kind, at, v) in m {
        let i = if b.is_empty() { 0 } else { at % (b.len() + 1) };
        match kind {
            0 => b.truncate(i),
            1 if i < b.len() => b[i] = v,
            2 if i < b.len() => b[i] ^= 1 << (v % 8),
            3 => b.insert(i, v),
            _ => b.extend(std::iter::repeat_n(v, at % 17)),
        }
    }
    b
}

pub fn gzip(bytes: &[u8], level: u32) -> Vec<u8> {
    use std::io::Write;
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(level));
    e.write_all(bytes).ok();
    e.finish().unwrap_or_default()
}

/// Sometimes damaged, sometimes gzip'd (and then sometimes the gzip stream damaged).
pub fn damaged(file: impl Strategy<Value = Vec<u8>>) -> impl Strategy<Value = Vec<u8>> {
    (file, mutations(), proptest::option::weighted(0.25, (0u32..=9, mutations()))).prop_map(|(b, m, gz)| {
        let b = if m.len() > 2 { mutate(b, &m) } else { b };
        match gz {
            Some((level, gm)) => {
                let g = gzip(&b, level);
                if gm.len() > 2 { mutate(g, &gm) } else { g }
            }
            None => b,
        }
    })
}

pub fn idx_dim() -> impl Strategy<Value = u32> {
    prop_oneof![8 => 1u32..=12, 1 => Just(0u32), 1 => proptest::sample::select(vec![u32::MAX, 60000, 1 << 16, 8193, 28, 1 << 26]), 1 => any::<u32>()]
}

pub const IDX_CODES: [u8; 6] = [0x08, 0x09, 0x0B, 0x0C, 0x0D, 0x0E];

/// An IDX file: header, values of the declared size when that is small, with NaN,
/// infinities and f32-overflowing doubles planted.
pub fn idx_raw(dims: impl Strategy<Value = Vec<u32>>, codes: Vec<u8>) -> impl Strategy<Value = Vec<u8>> {
    let code = prop_oneof![9 => proptest::sample::select(codes), 1 => any::<u8>()];
    (code, dims, proptest::option::weighted(0.05, any::<u8>()))
        .prop_flat_map(|(code, dims, ndims)| {
            let width = match code { 0x0B => 2, 0x0C | 0x0D => 4, 0x0E => 8, _ => 1 };
            let count = dims.iter().try_fold(1usize, |a, &d| a.checked_mul(d as usize)).filter(|&n| n.saturating_mul(width) <= 1 << 14);
            let len = count.map_or(0..64, |n| n * width..n * width + 1);
            (Just((code, dims, ndims, width)), proptest::collection::vec(any::<u8>(), len), proptest::collection::vec((any::<usize>(), 0usize..4), 0..3))
        })
        .prop_map(|((code, dims, ndims, width), mut data, plant)| {
            let mut b = vec![0, 0, code, ndims.unwrap_or(dims.len() as u8)];
            for d in &dims {
                b.extend_from_slice(&d.to_be_bytes());
            }
            for (at, which) in plant {
                let v: Vec<u8> = match width {
                    4 => [f32::NAN, f32::INFINITY, f32::NEG_INFINITY, f32::MAX][which].to_be_bytes().to_vec(),
                    8 => [f64::NAN, f64::INFINITY, 1e300, -1e39][which].to_be_bytes().to_vec(),
                    _ => continue,
                };
                let slots = data.len() / width;
                if slots > 0 {
                    let i = at % slots * width;
                    data[i..i + width].copy_from_slice(&v);
                }
            }
            b.extend_from_slice(&data);
            b
        })
}

pub fn idx_file() -> impl Strategy<Value = Vec<u8>> {
    damaged(idx_raw(proptest::collection::vec(idx_dim(), 0..=5), IDX_CODES.to_vec()))
}

/// `(images, labels)` with matching sample counts, then damaged.
pub fn idx_pair() -> impl Strategy<Value = (Vec<u8>, Vec<u8>)> {
    let n = prop_oneof![6 => 1u32..=16, 1 => idx_dim()];
    let shape = prop_oneof![3 => (1u32..=8, 1u32..=8).prop_map(|(h, w)| vec![h, w]), 1 => (1u32..=12).prop_map(|f| vec![f]), 1 => proptest::collection::vec(idx_dim(), 0..=3)];
    (n, shape, prop_oneof![Just(0u32), 1u32..=3]).prop_flat_map(|(n, shape, skew)| {
        let images: Vec<u32> = std::iter::once(n).chain(shape).collect();
        let labels = vec![if skew == 3 { n.wrapping_add(1) } else { n }];
        let label_codes = if skew == 2 { IDX_CODES.to_vec() } else { vec![0x08] };
        (damaged(idx_raw(Just(images), IDX_CODES.to_vec())), damaged(idx_raw(Just(labels), label_codes)))
    })
}

/// CSV text: optional BOM and header, rows of number-like fields, odd separators and line
/// ends, blank lines; then damaged (and sometimes gzip'd).
pub fn csv_file() -> impl Strategy<Value = Vec<u8>> {
    let odd = vec!["nan", "NaN", "inf", "-inf", "1e39", "-0", "", " 7 ", "\"3\"", "x", "é", "0x10", "1_000", "+3", ".5", "5.", "1e-50", "2.5", "1000", "999", "-1", "\"1,2\"", "\"", "3\r"];
    let odd = proptest::sample::select(odd).prop_map(str::to_owned);
    let label = prop_oneof![30 => (0u32..4).prop_map(|v| v.to_string()), 1 => odd.clone()];
    let field = prop_oneof![30 => (-100.0f32..100.0).prop_map(|v| v.to_string()), 10 => (0u32..256).prop_map(|v| v.to_string()), 1 => odd];
    let sep = prop_oneof![16 => Just(","), 1 => Just(";"), 1 => Just("\t")];
    let end = prop_oneof![6 => Just("\n"), 2 => Just("\r\n"), 1 => Just("\r"), 1 => Just("\n\n  \n")];
    (1usize..6, sep, end, any::<bool>(), any::<bool>(), proptest::bool::weighted(0.1)).prop_flat_map(move |(cols, sep, end, bom, header, ragged)| {
        let features = if ragged { proptest::collection::vec(field.clone(), 0..7).boxed() } else { proptest::collection::vec(field.clone(), cols).boxed() };
        let row = (label.clone(), features).prop_map(|(l, mut f)| {
            f.insert(0, l);
            f
        });
        proptest::collection::vec(row, 0..24).prop_map(move |rows| {
            let mut t = String::new();
            if bom {
                t.push('\u{feff}');
            }
            if header {
                t.push_str(&(0..=cols).map(|c| if c == 0 { "label".to_owned() } else { format!("f{c}") }).collect::<Vec<_>>().join(sep));
                t.push_str(end);
            }
            for r in rows {
                t.push_str(&r.join(sep));
                t.push_str(end);
            }
            t.into_bytes()
        })
    })
    .prop_flat_map(|b| damaged(Just(b)))
}

/// Digits lines: 64 counts and a label, sometimes with a bad cell, short, or junk.
pub fn digits_text() -> impl Strategy<Value = String> {
    let bad = vec!["17", " 3", "-1", "x", "10", "4294967296", ""];
    let line = (proptest::collection::vec(0u8..=16, 65), proptest::option::weighted(0.1, (0usize..65, proptest::sample::select(bad))), prop_oneof![12 => Just(65usize), 1 => 0usize..70]);
    let line = line.prop_map(|(cells, bad, len)| {
        let mut cells: Vec<String> = cells.iter().map(|c| c.to_string()).collect();
        cells[64] = (cells[64].parse::<u8>().unwrap_or(0) % 10).to_string();
        if let Some((i, v)) = bad {
            cells[i] = v.to_owned();
        }
        cells.resize(len, "0".to_owned());
        cells.join(",")
    });
    (proptest::collection::vec(line, 0..12), prop_oneof![Just("\n"), Just("\r\n")], mutations()).prop_map(|(lines, end, m)| {
        let text = lines.join(end);
        if m.len() > 2 { String::from_utf8_lossy(&mutate(text.into_bytes(), &m)).into_owned() } else { text }
    })
}

/// What a user may drop on the page: no file, one or two IDX, CSV or raw files, or three.
pub fn upload_files() -> impl Strategy<Value = Vec<Vec<u8>>> {
    let one = prop_oneof![2 => idx_file(), 2 => csv_file(), 1 => raw_bytes()];
    prop_oneof![
        1 => Just(vec![]),
        3 => one.clone().prop_map(|f| vec![f]),
        4 => idx_pair().prop_map(|(a, b)| vec![a, b]),
        1 => (one.clone(), one.clone()).prop_map(|(a, b)| vec![b, a]),
        1 => proptest::collection::vec(one, 3..5),
    ]
}

/// Arbitrary bytes, alone and behind the magic numbers the parsers switch on.
pub fn raw_bytes() -> impl Strategy<Value = Vec<u8>> {
    let prefix = proptest::sample::select(vec![vec![], vec![0, 0], vec![0, 0, 8, 1], vec![0, 0, 0x0d, 3], vec![0x1f, 0x8b], vec![0x1f, 0x8b, 8, 0], vec![0xef, 0xbb, 0xbf], vec![b'{']]);
    (prefix, proptest::collection::vec(any::<u8>(), 0..512)).prop_map(|(mut p, b)| {
        p.extend(b);
        p
    })
}
