//! signal-engine's hand-written CPU kernels, in their own crate so that the engine's debug
//! builds (its tests) still compile them optimised (`[profile.dev.package.signal-engine-kernels]`
//! in the engine's `Cargo.toml`): at opt-level 0 these loops run far slower, and the engine's
//! Kafka tests, which serve with them, ran out of time.
//!
//! [`gemm_acc`]: `C += A · B` with `B` packed once ([`Packed`], a model weight, or per call for
//! attention's keys and values) and `A` rows at any stride. Every element of `C` is one chain of
//! fused multiply-adds over `k` in order, started at zero and added to `C` at the end, whatever
//! the number of rows and however they are tiled: **a row's result does not depend on the other
//! rows** (so a window scores the same alone or in a batch of 256). [`gemm_bias`]:
//! `C = bias + A · B`, a dense layer, the bias read where `gemm_acc` reads `C` (no pass that
//! copies it into `C`); [`gemm_set`]: `C = A · B`, `C` not read. Register blocks, picked at run
//! time: AVX-512 4 rows × 64 columns, a lone row × 128 columns (eight independent chains),
//! 8 rows × 16 columns for one-panel products; AVX2 + FMA 3 rows × 32 columns; rows in chunks
//! that stay in L2. The baseline path (no FMA) is plain multiply-add: its results differ from
//! the FMA paths' in the last bits, but not between batch sizes on one machine.

/// Columns per panel of a packed matrix.
pub const NR: usize = 16;

/// A `[k × n]` matrix packed as column panels of [`NR`]: panel `p` holds columns
/// `p·NR .. p·NR + NR` as `k` rows of `NR` (zero-padded past `n`).
#[derive(Clone, Debug, Default)]
pub struct Packed {
    k: usize,
    n: usize,
    data: Vec<f32>,
}

impl Packed {
    /// Packs `w` (`[k × n]`, row-major).
    pub fn new(w: &[f32], k: usize, n: usize) -> Self {
        assert_eq!(w.len(), k * n, "Packed::new: w is not [k × n]");
        let mut p = Self::default();
        p.repack(w, (k, n), (n, 1));
        p
    }

    /// Packs the `[k × n]` matrix whose element `(i, j)` is `src[i·rs + j·cs]` (a transpose is
    /// `cs > 1`), reusing this buffer: for operands that change per call (attention's keys and
    /// values).
    pub fn repack(&mut self, src: &[f32], (k, n): (usize, usize), (rs, cs): (usize, usize)) {
        assert!(
            k == 0 || n == 0 || (k - 1) * rs + (n - 1) * cs < src.len(),
            "Packed::repack: src too short"
        );
        let panels = n.div_ceil(NR);
        (self.k, self.n) = (k, n);
        self.data.clear();
        self.data.resize(panels * k * NR, 0.0);
        for (p, panel) in self.data.chunks_exact_mut(k * NR).enumerate() {
            let width = NR.min(n - p * NR);
            if cs == 1 {
                // Rows of `src` are rows of the panel: contiguous copies.
                for (i, row) in panel.chunks_exact_mut(NR).enumerate() {
                    row[..width].copy_from_slice(&src[i * rs + p * NR..][..width]);
                }
            } else if rs == 1 {
                // A transpose: each column of the panel is a contiguous run of `src`.
                for l in 0..width {
                    let col = &src[(p * NR + l) * cs..][..k];
                    for (row, v) in panel.chunks_exact_mut(NR).zip(col) {
                        row[l] = *v;
                    }
                }
            } else {
                for (i, row) in panel.chunks_exact_mut(NR).enumerate() {
                    for (l, v) in row[..width].iter_mut().enumerate() {
                        *v = src[i * rs + (p * NR + l) * cs];
                    }
                }
            }
        }
    }

    pub fn k(&self) -> usize {
        self.k
    }

    pub fn n(&self) -> usize {
        self.n
    }

    fn panel(&self, p: usize) -> &[f32] {
        &self.data[p * self.k * NR..(p + 1) * self.k * NR]
    }
}

/// `C[r, ..] += A[r, ..] · B` for `r < m`: `A` row `r` is `a[r·lda .. r·lda + k]`, `C` row `r` is
/// `c[r·ldc .. r·ldc + n]`.
pub fn gemm_acc(m: usize, a: &[f32], lda: usize, b: &Packed, c: &mut [f32], ldc: usize) {
    gemm(m, a, lda, b, Base::C, c, ldc);
}

/// `C[r, ..] = bias + A[r, ..] · B` for `r < m` (rows as in [`gemm_acc`], `bias` `n` wide): a
/// dense layer without first copying the bias into every row of `C`, and the same bits as that
/// copy followed by [`gemm_acc`].
pub fn gemm_bias(
    m: usize,
    a: &[f32],
    lda: usize,
    b: &Packed,
    bias: &[f32],
    c: &mut [f32],
    ldc: usize,
) {
    assert!(bias.len() >= b.n, "gemm_bias: bias shorter than n");
    gemm(m, a, lda, b, Base::Bias(bias), c, ldc);
}

/// `C = A · B` for `r < m` (rows as in [`gemm_acc`]): nothing of `C` read, so no pass that
/// zeroes it first.
pub fn gemm_set(m: usize, a: &[f32], lda: usize, b: &Packed, c: &mut [f32], ldc: usize) {
    gemm(m, a, lda, b, Base::Zero, c, ldc);
}

/// What a block's products are added to.
#[derive(Clone, Copy)]
enum Base<'a> {
    /// `C`'s own values ([`gemm_acc`]).
    C,
    /// A bias row ([`gemm_bias`]).
    Bias(&'a [f32]),
    /// Nothing ([`gemm_set`]).
    Zero,
}

fn gemm(m: usize, a: &[f32], lda: usize, b: &Packed, base: Base, c: &mut [f32], ldc: usize) {
    let (k, n) = (b.k, b.n);
    if m == 0 || n == 0 {
        return;
    }
    assert!(
        lda >= k && (m - 1) * lda + k <= a.len(),
        "gemm_acc: a too short"
    );
    assert!(
        ldc >= n && (m - 1) * ldc + n <= c.len(),
        "gemm_acc: c too short"
    );
    #[cfg(target_arch = "x86_64")]
    {
        if level() == Level::Avx512 {
            // SAFETY: the CPU has the features the function is compiled for.
            unsafe { avx512(m, a, lda, b, base, c, ldc) };
            return;
        }
        if level() == Level::Avx2 {
            // SAFETY: as above.
            unsafe { avx2(m, a, lda, b, base, c, ldc) };
            return;
        }
    }
    tiles::<4, 2>(m, a, lda, b, base, c, ldc);
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Level {
    Avx512,
    Avx2,
    Baseline,
}

fn level() -> Level {
    #[cfg(test)]
    if let Some(l) = tests::FORCE.with(|f| f.get()) {
        return l;
    }
    #[cfg(target_arch = "x86_64")]
    {
        if std::is_x86_feature_detected!("avx512f") {
            return Level::Avx512;
        }
        if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
            return Level::Avx2;
        }
    }
    Level::Baseline
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx2,fma")]
fn avx512(m: usize, a: &[f32], lda: usize, b: &Packed, base: Base, c: &mut [f32], ldc: usize) {
    let panels = b.n.div_ceil(NR);
    // Rows in chunks that stay in L2; within a chunk, groups of 4 panels (32 KiB of B at
    // k = 128) that stay in L1 while the chunk's rows pass through them. Groups of 8 (in L2
    // only) ran 10-15 % slower over the whole forward: B's loads then came from L2 at a rate
    // near its bandwidth.
    for (c0, c1) in row_chunks(m) {
        if panels == 1 {
            // One panel (attention's context, 16 wide): tall blocks instead of wasted columns.
            let full = c0 + (c1 - c0) / 8 * 8;
            for r0 in (c0..full).step_by(8) {
                tile512::<8, 1>(r0, 8, 0, 1, a, lda, b, base, c, ldc);
            }
            for r0 in full..c1 {
                tile512::<1, 1>(r0, 1, 0, 1, a, lda, b, base, c, ldc);
            }
            continue;
        }
        let full = c0 + (c1 - c0) / 4 * 4;
        for p0 in (0..panels).step_by(4) {
            let np = 4.min(panels - p0);
            for r0 in (c0..full).step_by(4) {
                tile512::<4, 4>(r0, 4, p0, np, a, lda, b, base, c, ldc);
            }
        }
        // A lone row: eight independent chains keep the FMA units busy where four rows
        // cannot.
        for p0 in (0..panels).step_by(8) {
            let np = 8.min(panels - p0);
            for r0 in full..c1 {
                tile512::<1, 8>(r0, 1, p0, np, a, lda, b, base, c, ldc);
            }
        }
    }
}

/// `0..m` in chunks of [`ROW_CHUNK`] rows.
fn row_chunks(m: usize) -> impl Iterator<Item = (usize, usize)> {
    (0..m)
        .step_by(ROW_CHUNK)
        .map(move |c0| (c0, (c0 + ROW_CHUNK).min(m)))
}

/// Rows of `A` per cache block (a multiple of 8, 4 and 3, the row blocks).
const ROW_CHUNK: usize = 192;

/// One `MR` rows × `NP` panels register block (`rows ≤ MR`, `np ≤ NP` valid; the rest repeat
/// the last valid row or panel and are dropped).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx2,fma")]
#[inline]
#[allow(clippy::too_many_arguments, clippy::needless_range_loop)]
fn tile512<const MR: usize, const NP: usize>(
    r0: usize,
    rows: usize,
    p0: usize,
    np: usize,
    a: &[f32],
    lda: usize,
    b: &Packed,
    base: Base,
    c: &mut [f32],
    ldc: usize,
) {
    use std::arch::x86_64::*;
    let k = b.k;
    // SAFETY (every read below): a row start has `k` floats after it and a panel start `k × NR`
    // (`block_starts`), and `kk < k`.
    let (ar, pp) = block_starts::<MR, NP>((r0, rows), (p0, np), a, lda, b);
    let mut acc = [[_mm512_setzero_ps(); NP]; MR];
    for kk in 0..k {
        let w: [__m512; NP] =
            std::array::from_fn(|p| unsafe { _mm512_loadu_ps(pp[p].add(kk * NR)) });
        for r in 0..MR {
            let x = _mm512_set1_ps(unsafe { *ar[r].add(kk) });
            for p in 0..NP {
                acc[r][p] = _mm512_fmadd_ps(x, w[p], acc[r][p]);
            }
        }
    }
    // Straight into C, a last panel's padding masked off: a round trip through a lane buffer
    // and a scalar add cost as much as the loop above at the small k of the recurrent step and
    // attention (32 to 64).
    for r in 0..rows {
        for p in 0..np {
            let col = (p0 + p) * NR;
            let width = NR.min(b.n - col);
            let mask: __mmask16 = if width == NR {
                0xFFFF
            } else {
                (1 << width) - 1
            };
            // SAFETY: row `r0 + r` of C has `n` floats from `(r0 + r)·ldc` (checked by
            // `gemm`), a bias `n` (checked by `gemm_bias`), and `col + width ≤ n`; masked-off
            // lanes are neither read nor written.
            unsafe {
                let at = c.as_mut_ptr().add((r0 + r) * ldc + col);
                let y = match base {
                    Base::C => _mm512_add_ps(_mm512_maskz_loadu_ps(mask, at), acc[r][p]),
                    Base::Bias(v) => {
                        _mm512_add_ps(_mm512_maskz_loadu_ps(mask, v.as_ptr().add(col)), acc[r][p])
                    }
                    Base::Zero => acc[r][p],
                };
                _mm512_mask_storeu_ps(at, mask, y);
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn avx2(m: usize, a: &[f32], lda: usize, b: &Packed, base: Base, c: &mut [f32], ldc: usize) {
    let panels = b.n.div_ceil(NR);
    for (c0, c1) in row_chunks(m) {
        let mut p0 = 0;
        while p0 < panels {
            let np = 2.min(panels - p0);
            let full = c0 + (c1 - c0) / 3 * 3;
            for r0 in (c0..full).step_by(3) {
                tile256::<3, 2>(r0, 3, p0, np, a, lda, b, base, c, ldc);
            }
            for r0 in full..c1 {
                tile256::<1, 2>(r0, 1, p0, np, a, lda, b, base, c, ldc);
            }
            p0 += 2;
        }
    }
}

/// [`tile512`] for AVX2: a panel is two 8-lane registers; 3 × 2 panels is 12 accumulators of
/// the 16 registers.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
#[inline]
#[allow(clippy::too_many_arguments, clippy::needless_range_loop)]
fn tile256<const MR: usize, const NP: usize>(
    r0: usize,
    rows: usize,
    p0: usize,
    np: usize,
    a: &[f32],
    lda: usize,
    b: &Packed,
    base: Base,
    c: &mut [f32],
    ldc: usize,
) {
    use std::arch::x86_64::*;
    let k = b.k;
    // SAFETY: as in `tile512`.
    let (ar, pp) = block_starts::<MR, NP>((r0, rows), (p0, np), a, lda, b);
    let mut acc = [[[_mm256_setzero_ps(); 2]; NP]; MR];
    for kk in 0..k {
        let w: [[__m256; 2]; NP] = std::array::from_fn(|p| unsafe {
            let at = pp[p].add(kk * NR);
            [_mm256_loadu_ps(at), _mm256_loadu_ps(at.add(8))]
        });
        for r in 0..MR {
            let x = _mm256_set1_ps(unsafe { *ar[r].add(kk) });
            for p in 0..NP {
                for h in 0..2 {
                    acc[r][p][h] = _mm256_fmadd_ps(x, w[p][h], acc[r][p][h]);
                }
            }
        }
    }
    let mut lanes = [[[0.0f32; NR]; NP]; MR];
    for r in 0..rows {
        for p in 0..np {
            let [lo, hi] = lanes[r][p].as_chunks_mut::<8>().0 else {
                unreachable!("NR is two registers of 8")
            };
            // SAFETY: `lo` and `hi` are 8 floats each.
            unsafe {
                _mm256_storeu_ps(lo.as_mut_ptr(), acc[r][p][0]);
                _mm256_storeu_ps(hi.as_mut_ptr(), acc[r][p][1]);
            }
        }
    }
    add_block(&lanes, (r0, rows), (p0, np), b.n, base, c, ldc);
}

/// The baseline path: blocks of `MR` rows (the last one narrower) × `NP` panels (the last group
/// narrower), plain multiply-add.
fn tiles<const MR: usize, const NP: usize>(
    m: usize,
    a: &[f32],
    lda: usize,
    b: &Packed,
    base: Base,
    c: &mut [f32],
    ldc: usize,
) {
    let panels = b.n.div_ceil(NR);
    let mut r0 = 0;
    while r0 < m {
        let rows = MR.min(m - r0);
        let mut p0 = 0;
        while p0 < panels {
            let np = NP.min(panels - p0);
            // A block narrower than MR × NP repeats its last row/panel: the extra lanes are
            // computed and dropped, the valid ones are the same chains as in a full block.
            tile::<MR, NP>(r0, rows, p0, np, a, lda, b, base, c, ldc);
            p0 += NP;
        }
        r0 += MR;
    }
}

#[inline(always)]
#[allow(clippy::too_many_arguments, clippy::needless_range_loop)]
fn tile<const MR: usize, const NP: usize>(
    r0: usize,
    rows: usize,
    p0: usize,
    np: usize,
    a: &[f32],
    lda: usize,
    b: &Packed,
    base: Base,
    c: &mut [f32],
    ldc: usize,
) {
    let k = b.k;
    let arow: [&[f32]; MR] = std::array::from_fn(|r| {
        let r = r0 + r.min(rows - 1);
        &a[r * lda..r * lda + k]
    });
    let panel: [&[f32]; NP] = std::array::from_fn(|p| b.panel(p0 + p.min(np - 1)));
    let mut acc = [[[0.0f32; NR]; NP]; MR];
    for kk in 0..k {
        let w: [&[f32; NR]; NP] = std::array::from_fn(|p| {
            panel[p][kk * NR..kk * NR + NR]
                .try_into()
                .expect("a panel row is NR wide")
        });
        for r in 0..MR {
            let x = arow[r][kk];
            for p in 0..NP {
                for l in 0..NR {
                    acc[r][p][l] += x * w[p][l];
                }
            }
        }
    }
    add_block(&acc, (r0, rows), (p0, np), b.n, base, c, ldc);
}

/// Where a block's rows of `A` and panels of `B` start: rows `r0..r0 + rows` and panels
/// `p0..p0 + np` are the valid ones; the block's further rows and panels repeat the last valid
/// one (computed, then dropped by [`add_block`]). Each row start has `k` floats after it (checked
/// by `gemm_acc`), each panel start `k × NR` (the slicing checks it here, once per block).
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn block_starts<const MR: usize, const NP: usize>(
    (r0, rows): (usize, usize),
    (p0, np): (usize, usize),
    a: &[f32],
    lda: usize,
    b: &Packed,
) -> ([*const f32; MR], [*const f32; NP]) {
    (
        std::array::from_fn(|r| a[(r0 + r.min(rows - 1)) * lda..].as_ptr()),
        std::array::from_fn(|p| b.panel(p0 + p.min(np - 1)).as_ptr()),
    )
}

/// Stores a block's accumulated lanes into `C`, added to `C`, to the bias or to nothing
/// (`base`): its valid rows `r0..r0 + rows` and panels `p0..p0 + np`, the columns at and past
/// `n` (a last panel's padding) dropped.
#[inline(always)]
fn add_block<const MR: usize, const NP: usize>(
    lanes: &[[[f32; NR]; NP]; MR],
    (r0, rows): (usize, usize),
    (p0, np): (usize, usize),
    n: usize,
    base: Base,
    c: &mut [f32],
    ldc: usize,
) {
    for (r, block_row) in lanes.iter().enumerate().take(rows) {
        let row = &mut c[(r0 + r) * ldc..];
        for (p, panel) in block_row.iter().enumerate().take(np) {
            let col = (p0 + p) * NR;
            let width = NR.min(n - col);
            let out = &mut row[col..col + width];
            match base {
                Base::C => out.iter_mut().zip(panel).for_each(|(y, v)| *y += v),
                Base::Bias(bias) => out
                    .iter_mut()
                    .zip(&bias[col..col + width])
                    .zip(panel)
                    .for_each(|((y, b), v)| *y = b + v),
                Base::Zero => out.copy_from_slice(&panel[..width]),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    thread_local! {
        /// The path the tests on this thread take (None: the CPU's best).
        pub(super) static FORCE: Cell<Option<Level>> = const { Cell::new(None) };
    }

    /// Runs `f` on every path this CPU has.
    fn each_level(f: impl Fn(Level)) {
        let best = level();
        for l in [Level::Avx512, Level::Avx2, Level::Baseline] {
            let has = match best {
                Level::Avx512 => true,
                Level::Avx2 => l != Level::Avx512,
                Level::Baseline => l == Level::Baseline,
            };
            if has {
                FORCE.with(|c| c.set(Some(l)));
                f(l);
            }
        }
        FORCE.with(|c| c.set(None));
    }

    fn random(len: usize, seed: u64) -> Vec<f32> {
        let mut s = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (0..len)
            .map(|_| {
                s = s
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                ((s >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
            })
            .collect()
    }

    #[test]
    fn matches_a_plain_product_for_odd_shapes_on_every_path() {
        each_level(|l| {
            for (m, k, n) in [
                (1, 1, 1),
                (3, 5, 7),
                (4, 64, 256),
                (9, 33, 40),
                (13, 128, 520),
                (61, 60, 16),
            ] {
                let (a, w, c0) = (random(m * k, 1), random(k * n, 2), random(m * n, 3));
                let packed = Packed::new(&w, k, n);
                let mut c = c0.clone();
                gemm_acc(m, &a, k, &packed, &mut c, n);
                for r in 0..m {
                    for j in 0..n {
                        let want: f64 = c0[r * n + j] as f64
                            + (0..k)
                                .map(|kk| a[r * k + kk] as f64 * w[kk * n + j] as f64)
                                .sum::<f64>();
                        let got = c[r * n + j] as f64;
                        assert!(
                            (got - want).abs() < 1e-4,
                            "{l:?} ({m},{k},{n}) [{r},{j}]: {got} vs {want}"
                        );
                    }
                }
            }
        });
    }

    #[test]
    fn a_rows_result_does_not_depend_on_the_other_rows_on_every_path() {
        each_level(|l| {
            for (k, n) in [(64, 272), (60, 16)] {
                let w = Packed::new(&random(k * n, 4), k, n);
                let a = random(37 * k, 5);
                let c0 = random(37 * n, 6);
                let mut all = c0.clone();
                gemm_acc(37, &a, k, &w, &mut all, n);
                for r in 0..37 {
                    for len in [1, 2, 3, 4, 5, 9] {
                        let rows = len.min(37 - r);
                        let mut part = c0[r * n..(r + rows) * n].to_vec();
                        gemm_acc(rows, &a[r * k..], k, &w, &mut part, n);
                        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                        assert_eq!(
                            bits(&part[..n]),
                            bits(&all[r * n..(r + 1) * n]),
                            "{l:?} {k}x{n}: row {r} in a block of {rows}"
                        );
                    }
                }
            }
        });
    }

    #[test]
    fn a_repack_of_a_transpose_or_strided_rows_is_the_direct_pack() {
        let (k, n) = (5, 19);
        let src = random(k * n, 9);
        let t: Vec<f32> = (0..n * k).map(|i| src[(i % k) * n + i / k]).collect();
        let mut p = Packed::new(&[1.0; 4], 2, 2);
        p.repack(&t, (k, n), (1, k));
        let direct = Packed::new(&src, k, n);
        assert_eq!((p.k(), p.n()), (k, n));
        assert_eq!(p.data, direct.data);
        // Rows with a gap after each (attention's values: rows of Q, K, V side by side).
        let padded: Vec<f32> = src
            .chunks(n)
            .flat_map(|r| [r, &[9.0; 3]].concat())
            .collect();
        p.repack(&padded, (k, n), (n + 3, 1));
        assert_eq!(p.data, direct.data);
        // Neither rows nor columns contiguous: element (i, j) at 2i + 2k·j.
        let mut spread = vec![9.0; 2 * k * n];
        for i in 0..k {
            for j in 0..n {
                spread[2 * i + 2 * k * j] = src[i * n + j];
            }
        }
        p.repack(&spread, (k, n), (2, 2 * k));
        assert_eq!(p.data, direct.data);
    }

    #[test]
    fn strided_rows_are_read_and_written_in_place_on_every_path() {
        each_level(|l| {
            // Gate rows of a sequence: C rows 3n apart, A rows with padding.
            let (m, k, n) = (5, 8, 20);
            let (lda, ldc) = (11, 3 * n);
            let (a, w) = (random(m * lda, 7), random(k * n, 8));
            let mut c = vec![0.5; m * ldc];
            gemm_acc(m, &a, lda, &Packed::new(&w, k, n), &mut c, ldc);
            for r in 0..m {
                let gap = &c[r * ldc + n..(r + 1) * ldc];
                assert!(
                    gap.iter().all(|&v| v == 0.5),
                    "{l:?}: row {r}'s gap touched"
                );
                let want: f32 = 0.5 + (0..k).map(|kk| a[r * lda + kk] * w[kk * n]).sum::<f32>();
                assert!((c[r * ldc] - want).abs() < 1e-5, "{l:?}");
            }
        });
    }

    #[test]
    fn a_bias_layer_is_the_bias_copied_then_accumulated_bit_for_bit_on_every_path() {
        each_level(|l| {
            for (m, k, n) in [(1, 3, 5), (7, 32, 512), (9, 128, 40), (61, 60, 16)] {
                let (a, w, bias) = (random(m * k, 10), random(k * n, 11), random(n, 12));
                let packed = Packed::new(&w, k, n);
                // C rows with a gap after each, which neither call may touch.
                let ldc = n + 3;
                let mut want = vec![7.0; m * ldc];
                for row in want.chunks_exact_mut(ldc) {
                    row[..n].copy_from_slice(&bias);
                }
                gemm_acc(m, &a, k, &packed, &mut want, ldc);
                let mut got = vec![7.0; m * ldc];
                gemm_bias(m, &a, k, &packed, &bias, &mut got, ldc);
                let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                assert_eq!(bits(&got), bits(&want), "{l:?} ({m},{k},{n})");
            }
        });
    }

    #[test]
    fn a_set_product_is_a_zeroed_c_accumulated_on_every_path() {
        each_level(|l| {
            for (m, k, n) in [(1, 3, 5), (61, 32, 60), (60, 60, 32)] {
                let (a, w) = (random(m * k, 13), random(k * n, 14));
                let packed = Packed::new(&w, k, n);
                let ldc = n + 2;
                let mut want = vec![7.0; m * ldc];
                for row in want.chunks_exact_mut(ldc) {
                    row[..n].fill(0.0);
                }
                gemm_acc(m, &a, k, &packed, &mut want, ldc);
                let mut got = vec![7.0; m * ldc];
                gemm_set(m, &a, k, &packed, &mut got, ldc);
                // Equal as numbers (a zero may be −0 where 0 + −0 gave +0); the gaps untouched.
                assert_eq!(got, want, "{l:?} ({m},{k},{n})");
            }
        });
    }
}
