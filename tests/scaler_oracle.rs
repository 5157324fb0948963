//! scikit-learn oracle for the scaler JSON and `RobustScaler::transform_into`: real
//! scikit-learn 1.7.2 `RobustScaler`s fitted on real bars, pickled, converted by
//! `scripts/convert_scalers.py`, and scikit-learn's own `transform` of held-out rows (incl. real
//! extremes and synthetic rows far outside the data), all written by
//! `scripts/make_scaler_golden.py` into `tests/fixtures/golden/`. Here the converted JSON goes
//! through serde + `validate` and our transform must equal scikit-learn's to 1e-6 relative;
//! with clip 10, exactly the values with |scikit-learn| > 10 are clipped to ±10.

mod common;

use common::*;
use signal_engine::scaling::RobustScaler;

struct Golden {
    names: Vec<String>,
    kinds: Vec<String>,
    x: Vec<Vec<f64>>,
    z: Vec<Vec<f64>>,
}

fn golden(csv: &str) -> Golden {
    let text = std::fs::read_to_string(fixture(&format!("golden/{csv}"))).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let nf = (header.len() - 1) / 2;
    let names: Vec<String> = header[1..=nf]
        .iter()
        .map(|h| h.strip_prefix("x_").unwrap().to_string())
        .collect();
    for (n, h) in names.iter().zip(&header[nf + 1..]) {
        assert_eq!(format!("z_{n}"), *h);
    }
    let mut g = Golden {
        names,
        kinds: Vec::new(),
        x: Vec::new(),
        z: Vec::new(),
    };
    for l in lines {
        let f: Vec<&str> = l.split(',').collect();
        let v: Vec<f64> = f[1..].iter().map(|s| s.parse().unwrap()).collect();
        g.kinds.push(f[0].to_string());
        g.x.push(v[..nf].to_vec());
        g.z.push(v[nf..].to_vec());
    }
    g
}

fn load(json: &str, names: &[String]) -> RobustScaler {
    let text = std::fs::read_to_string(fixture(&format!("golden/{json}"))).unwrap();
    let s: RobustScaler = serde_json::from_str(&text).unwrap();
    s.validate(names).unwrap();
    assert_eq!(s.clip, 10.0, "converter default clip");
    s
}

fn check(json: &str, csv: &str) {
    let g = golden(csv);
    let fitted = load(json, &g.names);
    for kind in ["heldout", "extreme", "synthetic"] {
        assert!(g.kinds.iter().any(|k| k == kind), "no {kind} rows");
    }
    // Without clipping (clip far above any value): equal to scikit-learn's transform.
    let unclipped = RobustScaler {
        clip: 1e300,
        ..fitted.clone()
    };
    let mut out = Vec::new();
    let mut checked = 0;
    for (i, (x, z)) in g.x.iter().zip(&g.z).enumerate() {
        assert!(!unclipped.transform_into(x, &mut out));
        assert_eq!(out.len(), z.len());
        for (j, (a, b)) in out.iter().zip(z).enumerate() {
            let a = f64::from(*a);
            assert!(
                a == *b || (a - b).abs() <= 1e-6 * b.abs(),
                "{json} row {i} ({}) {}: ours {a} sklearn {b}",
                g.kinds[i],
                g.names[j]
            );
            checked += 1;
        }
    }
    assert_eq!(checked, g.x.len() * g.names.len());
    // With the converter's clip 10: clipped exactly where |scikit-learn| > 10.
    let mut n_clipped = 0;
    for (i, (x, z)) in g.x.iter().zip(&g.z).enumerate() {
        let flag = fitted.transform_into(x, &mut out);
        assert_eq!(
            flag,
            z.iter().any(|v| v.abs() > 10.0),
            "{json} row {i} flag"
        );
        for (a, b) in out.iter().zip(z) {
            if b.abs() > 10.0 {
                assert_eq!(f64::from(*a), 10.0 * b.signum(), "{json} row {i}");
                n_clipped += 1;
            } else {
                assert!(a.abs() <= 10.0);
                assert!(f64::from(*a) == *b || (f64::from(*a) - b).abs() <= 1e-6 * b.abs());
            }
        }
    }
    assert!(n_clipped > 0, "{json}: the goldens exercise no clipping");
}

#[test]
fn converted_sklearn_scaler_transforms_heldout_rows_like_sklearn() {
    check(
        "sklearn_robust_LINKUSDT.json",
        "sklearn_robust_LINKUSDT_heldout.csv",
    );
}

#[test]
fn converted_unit_variance_scaler_transforms_heldout_rows_like_sklearn() {
    check(
        "sklearn_robust_uv_LINKUSDT.json",
        "sklearn_robust_uv_LINKUSDT_heldout.csv",
    );
}

#[test]
fn constant_feature_has_scale_one_and_our_fit_matches_sklearn() {
    let g = golden("sklearn_robust_LINKUSDT_heldout.csv");
    let s = load("sklearn_robust_LINKUSDT.json", &g.names);
    let j = g.names.iter().position(|n| n == "ignore").unwrap();
    assert_eq!((s.center_[j], s.scale_[j]), (0.0, 1.0), "IQR 0 -> scale 1");
    // A synthetic row puts a non-zero value into the constant column: z = x - 0.
    assert!(
        g.x.iter()
            .zip(&g.z)
            .any(|(x, z)| x[j] != 0.0 && z[j] == x[j])
    );
    // The same 5,000 fitted rows through our own fit give scikit-learn's center_/scale_.
    let bars = read_events(&[fixture("klines/train/LINKUSDT-1m-2026-02.csv.gz")]);
    let b: Vec<_> = bars.iter().filter_map(|e| e.as_bar()).collect();
    let rows: Vec<Vec<f64>> = (1..=5000)
        .map(|t| {
            let (p, c) = (b[t - 1], b[t]);
            let tbr = if c.volume > 0.0 {
                c.taker_buy_volume / c.volume
            } else {
                0.5
            };
            vec![
                (c.close / p.close).ln(),
                c.volume.ln_1p(),
                tbr,
                (c.high - c.low) / c.close,
                0.0,
            ]
        })
        .collect();
    let ours = RobustScaler::fit(&g.names, &rows, 10.0).unwrap();
    for (k, a, b) in [
        ("center_", &ours.center_, &s.center_),
        ("scale_", &ours.scale_, &s.scale_),
    ] {
        for (x, y) in a.iter().zip(b) {
            assert!(
                (x - y).abs() <= 1e-12 * y.abs().max(1e-300),
                "{k}: ours {x} sklearn {y}"
            );
        }
    }
}
