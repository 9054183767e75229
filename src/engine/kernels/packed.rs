//! Weight matrices repacked for the multi-row kernels: eight output rows interleaved per
//! tile, four weights of each row side by side, so one 32-byte load feeds eight dot products
//! and is reused for every activation row of a batch.
//!
//! Five formats:
//! - `U4`: 4-bit unsigned weights with a scale and an offset per 32 (GGUF Q4_1 exactly, Q4_0
//!   as offset -8 x scale, Q4_K with its sub-block scales and minimums rounded to f16). Per
//!   tile and block: 128 bytes of nibbles (chunk `c` holds sub-step `2c` in its low nibbles
//!   and `2c + 1` in its high ones), 8 f16 scales, 8 f16 offsets.
//! - `U5`: 5-bit unsigned weights with a scale and an offset per 32 (GGUF Q5_0 and Q5_1
//!   exactly, Q5_K with its scales rounded to f16; 4-bit sources mixed with them fit too).
//!   Per tile and block: the `U4` nibbles (128 bytes), then 32 bytes of fifth bits (bit `s`
//!   of byte `i` belongs to byte `i`'s weight in sub-step `s`), 8 f16 scales, 8 f16 offsets.
//! - `I6`: 6-bit weights `q` in 0..64 standing for `d * scale * (q - 32)`, with a signed
//!   8-bit `scale` per 16 weights and an f16 `d` per 32 (GGUF Q6_K exactly). Per tile and
//!   block: the low nibbles as `U4`'s (128 bytes), 64 bytes of high bit pairs (bits
//!   `2 (s % 4)` and up of byte `32 (s / 4) + i` belong to byte `i`'s weight in sub-step
//!   `s`), 16 scales (`8 h + row` for half `h` of the block: sub-steps `4h..4h + 4`), 8 f16 `d`.
//! - `S8`: signed 8-bit weights with a scale per 32 (GGUF Q8_0; other quantizations, and
//!   narrower ones stacked with another format, are requantized to it). Per tile and block:
//!   256 bytes, then 8 f16 scales.
//! - `F32`: plain floats, per tile `[k][8]` (F32, F16 and BF16 files, exact).
//!
//! In sub-step `s` (0..8) of a block, byte `i` of 32 holds row `i / 4` at column `4s + i % 4`.

use half::f16;

/// Output rows per tile.
pub const TILE_ROWS: usize = 8;
/// Weights per quantization block.
pub const BLOCK: usize = 32;
pub const U4_BLOCK_BYTES: usize = 128 + 16 + 16;
pub const U5_BLOCK_BYTES: usize = 128 + 32 + 16 + 16;
pub const I6_BLOCK_BYTES: usize = 128 + 64 + 16 + 16;
pub const S8_BLOCK_BYTES: usize = 256 + 16;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    U4,
    U5,
    I6,
    S8,
    F32,
}

#[derive(Debug, Clone)]
enum Storage {
    Bytes(Vec<u8>),
    Floats(Vec<f32>),
}

/// A (rows x cols) weight matrix, applied as `y = W x`.
#[derive(Debug, Clone)]
pub struct PackedMatrix {
    pub format: Format,
    pub rows: usize,
    pub cols: usize,
    storage: Storage,
}

/// One block of 32 weights of one row, as a file stores it.
#[derive(Debug, Clone, Copy)]
pub enum SourceBlock {
    /// `d * q + m`, q in 0..16.
    Affine4 { d: f16, m: f16, q: [u8; BLOCK] },
    /// `d * q + m`, q in 0..32.
    Affine5 { d: f16, m: f16, q: [u8; BLOCK] },
    /// `d * scales[k / 16] * (q - 32)`, q in 0..64.
    Signed6 {
        d: f16,
        scales: [i8; 2],
        q: [u8; BLOCK],
    },
    /// `d * q`, q in -128..128.
    Signed8 { d: f16, q: [i8; BLOCK] },
}

impl SourceBlock {
    /// The block's 32 weights as floats, computed as ggml dequantizes them.
    pub fn values(&self) -> [f32; BLOCK] {
        match *self {
            SourceBlock::Affine4 { d, m, q } | SourceBlock::Affine5 { d, m, q } => {
                let (d, m) = (d.to_f32(), m.to_f32());
                std::array::from_fn(|k| d * q[k] as f32 + m)
            }
            SourceBlock::Signed6 { d, scales, q } => {
                let d = d.to_f32();
                std::array::from_fn(|k| d * scales[k / 16] as f32 * (q[k] as i32 - 32) as f32)
            }
            SourceBlock::Signed8 { d, q } => std::array::from_fn(|k| d.to_f32() * q[k] as f32),
        }
    }
}

impl PackedMatrix {
    pub fn tiles(&self) -> usize {
        self.rows.div_ceil(TILE_ROWS)
    }

    pub fn blocks_per_row(&self) -> usize {
        self.cols / BLOCK
    }

    /// Bytes of one tile.
    pub fn tile_bytes(&self) -> usize {
        match self.format {
            Format::U4 => self.blocks_per_row() * U4_BLOCK_BYTES,
            Format::U5 => self.blocks_per_row() * U5_BLOCK_BYTES,
            Format::I6 => self.blocks_per_row() * I6_BLOCK_BYTES,
            Format::S8 => self.blocks_per_row() * S8_BLOCK_BYTES,
            Format::F32 => self.cols * TILE_ROWS * 4,
        }
    }

    /// Memory held by the weights.
    pub fn bytes(&self) -> usize {
        self.tiles() * self.tile_bytes()
    }

    /// The packed bytes of tile `t` (quantized formats).
    pub(crate) fn tile_data(&self, t: usize) -> &[u8] {
        self.tiles_data(t..t + 1)
    }

    /// The packed bytes of consecutive tiles (quantized formats).
    pub(crate) fn tiles_data(&self, tiles: std::ops::Range<usize>) -> &[u8] {
        match &self.storage {
            Storage::Bytes(b) => &b[tiles.start * self.tile_bytes()..tiles.end * self.tile_bytes()],
            Storage::Floats(_) => &[],
        }
    }

    /// The floats of tile `t` (`F32`).
    pub(crate) fn tile_floats(&self, t: usize) -> &[f32] {
        self.tiles_floats(t..t + 1)
    }

    /// The floats of consecutive tiles (`F32`).
    pub(crate) fn tiles_floats(&self, tiles: std::ops::Range<usize>) -> &[f32] {
        let n = self.cols * TILE_ROWS;
        match &self.storage {
            Storage::Floats(f) => &f[tiles.start * n..tiles.end * n],
            Storage::Bytes(_) => &[],
        }
    }

    /// Packs a quantized matrix; `block(row, j)` gives block `j` of `row`. All blocks must
    /// be of one kind (`Affine4` makes `U4`, `Affine4` or `Affine5` make `U5`, `Signed6`
    /// makes `I6`, `Signed8` makes `S8`).
    pub fn from_blocks(
        rows: usize,
        cols: usize,
        format: Format,
        block: impl Fn(usize, usize) -> SourceBlock,
    ) -> PackedMatrix {
        assert!(cols.is_multiple_of(BLOCK) && format != Format::F32);
        let mut m = PackedMatrix {
            format,
            rows,
            cols,
            storage: Storage::Bytes(Vec::new()),
        };
        let (tile_bytes, nb) = (m.tile_bytes(), m.blocks_per_row());
        let mut data = vec![0u8; m.tiles() * tile_bytes];
        for (t, tile) in data.chunks_exact_mut(tile_bytes).enumerate() {
            for (j, out) in tile.chunks_exact_mut(tile_bytes / nb).enumerate() {
                let blocks: Vec<Option<SourceBlock>> = (0..TILE_ROWS)
                    .map(|r| (t * TILE_ROWS + r < rows).then(|| block(t * TILE_ROWS + r, j)))
                    .collect();
                match format {
                    Format::U4 => pack_u4_block(&blocks, out),
                    Format::U5 => pack_u5_block(&blocks, out),
                    Format::I6 => pack_i6_block(&blocks, out),
                    _ => pack_s8_block(&blocks, out),
                }
            }
        }
        m.storage = Storage::Bytes(data);
        m
    }

    /// Packs plain floats (row-major `rows x cols`) as `F32`.
    pub fn from_f32(rows: usize, cols: usize, w: &[f32]) -> PackedMatrix {
        let tiles = rows.div_ceil(TILE_ROWS);
        let mut data = vec![0f32; tiles * cols * TILE_ROWS];
        for row in 0..rows {
            let (t, r) = (row / TILE_ROWS, row % TILE_ROWS);
            for k in 0..cols {
                data[(t * cols + k) * TILE_ROWS + r] = w[row * cols + k];
            }
        }
        PackedMatrix {
            format: Format::F32,
            rows,
            cols,
            storage: Storage::Floats(data),
        }
    }

    /// Quantizes plain floats to `S8` (8-bit, one scale per 32 weights).
    pub fn quantize_f32(rows: usize, cols: usize, w: &[f32]) -> PackedMatrix {
        PackedMatrix::from_blocks(rows, cols, Format::S8, |row, j| {
            let x = &w[row * cols + j * BLOCK..row * cols + (j + 1) * BLOCK];
            quantize_block_s8(x)
        })
    }

    /// Row `n` as floats (for embedding lookups).
    pub fn row_f32(&self, n: usize, out: &mut [f32]) {
        let (t, r) = (n / TILE_ROWS, n % TILE_ROWS);
        match self.format {
            Format::F32 => {
                let tile = self.tile_floats(t);
                for (k, o) in out.iter_mut().enumerate().take(self.cols) {
                    *o = tile[k * TILE_ROWS + r];
                }
            }
            Format::U4 => {
                for (j, blk) in self.tile_data(t).chunks_exact(U4_BLOCK_BYTES).enumerate() {
                    let d = f16_at(blk, 128 + 2 * r).to_f32();
                    let m = f16_at(blk, 144 + 2 * r).to_f32();
                    for k in 0..BLOCK {
                        let s = k / 4;
                        let byte = blk[32 * (s / 2) + r * 4 + k % 4];
                        let q = if s % 2 == 0 { byte & 0x0F } else { byte >> 4 };
                        out[j * BLOCK + k] = d * q as f32 + m;
                    }
                }
            }
            Format::U5 => {
                for (j, blk) in self.tile_data(t).chunks_exact(U5_BLOCK_BYTES).enumerate() {
                    let d = f16_at(blk, 160 + 2 * r).to_f32();
                    let m = f16_at(blk, 176 + 2 * r).to_f32();
                    for k in 0..BLOCK {
                        let q = u5_at(blk, r, k);
                        out[j * BLOCK + k] = d * q as f32 + m;
                    }
                }
            }
            Format::I6 => {
                for (j, blk) in self.tile_data(t).chunks_exact(I6_BLOCK_BYTES).enumerate() {
                    let d = f16_at(blk, 208 + 2 * r).to_f32();
                    for k in 0..BLOCK {
                        // As ggml dequantizes: (d * scale) * (q - 32).
                        let scale = blk[192 + 8 * (k / 16) + r] as i8;
                        out[j * BLOCK + k] =
                            d * scale as f32 * (i6_at(blk, r, k) as i32 - 32) as f32;
                    }
                }
            }
            Format::S8 => {
                for (j, blk) in self.tile_data(t).chunks_exact(S8_BLOCK_BYTES).enumerate() {
                    let d = f16_at(blk, 256 + 2 * r).to_f32();
                    for k in 0..BLOCK {
                        let q = blk[32 * (k / 4) + r * 4 + k % 4] as i8;
                        out[j * BLOCK + k] = d * q as f32;
                    }
                }
            }
        }
    }
}

fn f16_at(bytes: &[u8], at: usize) -> f16 {
    f16::from_bits(u16::from_le_bytes([bytes[at], bytes[at + 1]]))
}

fn pack_u4_block(blocks: &[Option<SourceBlock>], out: &mut [u8]) {
    for (r, b) in blocks.iter().enumerate() {
        let Some(SourceBlock::Affine4 { d, m, q }) = b else {
            continue;
        };
        for (k, &qk) in q.iter().enumerate() {
            let s = k / 4;
            let at = 32 * (s / 2) + r * 4 + k % 4;
            out[at] |= (qk & 0x0F) << (4 * (s % 2));
        }
        out[128 + 2 * r..130 + 2 * r].copy_from_slice(&d.to_bits().to_le_bytes());
        out[144 + 2 * r..146 + 2 * r].copy_from_slice(&m.to_bits().to_le_bytes());
    }
}

/// The 5-bit weight of row `r`, column `k` in a packed `U5` block.
pub(crate) fn u5_at(blk: &[u8], r: usize, k: usize) -> u8 {
    let s = k / 4;
    let lane = r * 4 + k % 4;
    let nibble = (blk[32 * (s / 2) + lane] >> (4 * (s % 2))) & 0x0F;
    nibble | (((blk[128 + lane] >> s) & 1) << 4)
}

fn pack_u5_block(blocks: &[Option<SourceBlock>], out: &mut [u8]) {
    for (r, b) in blocks.iter().enumerate() {
        let (d, m, q) = match b {
            Some(SourceBlock::Affine4 { d, m, q } | SourceBlock::Affine5 { d, m, q }) => (d, m, q),
            _ => continue,
        };
        for (k, &qk) in q.iter().enumerate() {
            let s = k / 4;
            let lane = r * 4 + k % 4;
            out[32 * (s / 2) + lane] |= (qk & 0x0F) << (4 * (s % 2));
            out[128 + lane] |= ((qk >> 4) & 1) << s;
        }
        out[160 + 2 * r..162 + 2 * r].copy_from_slice(&d.to_bits().to_le_bytes());
        out[176 + 2 * r..178 + 2 * r].copy_from_slice(&m.to_bits().to_le_bytes());
    }
}

/// The 6-bit weight (0..64) of row `r`, column `k` in a packed `I6` block.
pub(crate) fn i6_at(blk: &[u8], r: usize, k: usize) -> u8 {
    let s = k / 4;
    let lane = r * 4 + k % 4;
    let nibble = (blk[32 * (s / 2) + lane] >> (4 * (s % 2))) & 0x0F;
    nibble | (((blk[128 + 32 * (s / 4) + lane] >> (2 * (s % 4))) & 3) << 4)
}

fn pack_i6_block(blocks: &[Option<SourceBlock>], out: &mut [u8]) {
    for (r, b) in blocks.iter().enumerate() {
        let Some(SourceBlock::Signed6 { d, scales, q }) = b else {
            continue;
        };
        for (k, &qk) in q.iter().enumerate() {
            let s = k / 4;
            let lane = r * 4 + k % 4;
            out[32 * (s / 2) + lane] |= (qk & 0x0F) << (4 * (s % 2));
            out[128 + 32 * (s / 4) + lane] |= ((qk >> 4) & 3) << (2 * (s % 4));
        }
        out[192 + r] = scales[0] as u8;
        out[200 + r] = scales[1] as u8;
        out[208 + 2 * r..210 + 2 * r].copy_from_slice(&d.to_bits().to_le_bytes());
    }
}

fn pack_s8_block(blocks: &[Option<SourceBlock>], out: &mut [u8]) {
    for (r, b) in blocks.iter().enumerate() {
        let Some(SourceBlock::Signed8 { d, q }) = b else {
            continue;
        };
        for (k, &qk) in q.iter().enumerate() {
            out[32 * (k / 4) + r * 4 + k % 4] = qk as u8;
        }
        out[256 + 2 * r..258 + 2 * r].copy_from_slice(&d.to_bits().to_le_bytes());
    }
}

/// Q8_0-style quantization of 32 floats: scale max|x| / 127, round to nearest.
pub fn quantize_block_s8(x: &[f32]) -> SourceBlock {
    let amax = x.iter().fold(0f32, |a, v| a.max(v.abs()));
    let d = f16::from_f32(amax / 127.0);
    let inv = if d.to_f32() > 0.0 {
        1.0 / d.to_f32()
    } else {
        0.0
    };
    let mut q = [0i8; BLOCK];
    for (o, v) in q.iter_mut().zip(x) {
        *o = (v * inv).round().clamp(-127.0, 127.0) as i8;
    }
    SourceBlock::Signed8 { d, q }
}

/// Block `j` of a row stored as GGUF Q4_1 (d, m, 16 bytes of nibbles).
pub fn q4_1_block(raw: &[u8]) -> SourceBlock {
    let mut q = [0u8; BLOCK];
    for (i, &b) in raw[4..20].iter().enumerate() {
        q[i] = b & 0x0F;
        q[i + 16] = b >> 4;
    }
    SourceBlock::Affine4 {
        d: f16_at(raw, 0),
        m: f16_at(raw, 2),
        q,
    }
}

/// A GGUF Q4_0 block (d, 16 bytes of nibbles, value d * (q - 8)) as an affine block.
pub fn q4_0_block(raw: &[u8]) -> SourceBlock {
    let mut q = [0u8; BLOCK];
    for (i, &b) in raw[2..18].iter().enumerate() {
        q[i] = b & 0x0F;
        q[i + 16] = b >> 4;
    }
    let d = f16_at(raw, 0);
    SourceBlock::Affine4 {
        d,
        m: f16::from_f32(-8.0 * d.to_f32()),
        q,
    }
}

/// The 32 5-bit values of a Q5_0 or Q5_1 block's 32 high bits and 16 bytes of nibbles.
fn q5_quants(high: &[u8], nibbles: &[u8]) -> [u8; BLOCK] {
    let high = u32::from_le_bytes([high[0], high[1], high[2], high[3]]);
    let mut q = [0u8; BLOCK];
    for (i, &b) in nibbles.iter().enumerate() {
        q[i] = (b & 0x0F) | ((((high >> i) & 1) as u8) << 4);
        q[i + 16] = (b >> 4) | ((((high >> (i + 16)) & 1) as u8) << 4);
    }
    q
}

/// A GGUF Q5_0 block (d, 32 high bits, 16 bytes of low nibbles; value d * (q - 16)) as a
/// 5-bit affine block, exactly (`-16 d` is exact in f16).
pub fn q5_0_block(raw: &[u8]) -> SourceBlock {
    let d = f16_at(raw, 0);
    SourceBlock::Affine5 {
        d,
        m: f16::from_f32(-16.0 * d.to_f32()),
        q: q5_quants(&raw[2..6], &raw[6..22]),
    }
}

/// A GGUF Q5_1 block (d, m, 32 high bits, 16 bytes of low nibbles; value d * q + m).
pub fn q5_1_block(raw: &[u8]) -> SourceBlock {
    SourceBlock::Affine5 {
        d: f16_at(raw, 0),
        m: f16_at(raw, 2),
        q: q5_quants(&raw[4..8], &raw[8..24]),
    }
}

/// Block `sub` (0..8) of a GGUF Q5_K super-block as a 5-bit affine block, its scale and
/// minimum times the super-block scales rounded to f16 (as `q4_k_block`).
pub fn q5_k_block(raw: &[u8], sub: usize) -> SourceBlock {
    let (d, dmin) = (f16_at(raw, 0).to_f32(), f16_at(raw, 2).to_f32());
    let (scale, min) = k_scale_min(&raw[4..16], sub);
    let qh = &raw[16..48];
    let ql = &raw[48 + 32 * (sub / 2)..48 + 32 * (sub / 2 + 1)];
    let bit = 1u8 << sub;
    let q = std::array::from_fn(|l| {
        let low = if sub.is_multiple_of(2) {
            ql[l] & 0x0F
        } else {
            ql[l] >> 4
        };
        low | if qh[l] & bit != 0 { 16 } else { 0 }
    });
    SourceBlock::Affine5 {
        d: f16::from_f32(d * scale as f32),
        m: f16::from_f32(-(dmin * min as f32)),
        q,
    }
}

/// Block `sub` (0..8) of a GGUF Q4_K super-block (d, dmin, twelve bytes of 6-bit scales and
/// minimums, 128 bytes of nibbles; value `d * scale * q - dmin * min`) as an affine block.
/// `d * scale` and `dmin * min` are rounded to f16 (a relative error below 2^-11).
pub fn q4_k_block(raw: &[u8], sub: usize) -> SourceBlock {
    let (d, dmin) = (f16_at(raw, 0).to_f32(), f16_at(raw, 2).to_f32());
    let (scale, min) = k_scale_min(&raw[4..16], sub);
    // Blocks 2k and 2k + 1 share 32 bytes: low nibbles, then high ones.
    let bytes = &raw[16 + 32 * (sub / 2)..16 + 32 * (sub / 2 + 1)];
    let mut q = [0u8; BLOCK];
    for (o, &b) in q.iter_mut().zip(bytes) {
        *o = if sub.is_multiple_of(2) {
            b & 0x0F
        } else {
            b >> 4
        };
    }
    SourceBlock::Affine4 {
        d: f16::from_f32(d * scale as f32),
        m: f16::from_f32(-(dmin * min as f32)),
        q,
    }
}

/// The 6-bit scale and minimum of sub-block `sub` (0..8) of a Q4_K or Q5_K super-block, from
/// its twelve packed bytes.
fn k_scale_min(s: &[u8], sub: usize) -> (u8, u8) {
    if sub < 4 {
        (s[sub] & 63, s[sub + 4] & 63)
    } else {
        (
            (s[sub + 4] & 0x0F) | ((s[sub - 4] >> 6) << 4),
            (s[sub + 4] >> 4) | ((s[sub] >> 6) << 4),
        )
    }
}

/// Block `sub` (0..8) of a GGUF Q6_K super-block as a 6-bit block, exactly: the
/// super-block's `d`, the block's two 16-value scales and its values `q` (0..64).
pub fn q6_k_block(raw: &[u8], sub: usize) -> SourceBlock {
    let (half, k) = (sub / 4, sub % 4);
    let ql = &raw[64 * half..64 * half + 64];
    let qh = &raw[128 + 32 * half..128 + 32 * half + 32];
    let scales = &raw[192 + 8 * half + 2 * k..192 + 8 * half + 2 * k + 2];
    SourceBlock::Signed6 {
        d: f16_at(raw, 208),
        scales: [scales[0] as i8, scales[1] as i8],
        q: std::array::from_fn(|l| {
            let low = match k {
                0 => ql[l] & 0x0F,
                1 => ql[l + 32] & 0x0F,
                2 => ql[l] >> 4,
                _ => ql[l + 32] >> 4,
            };
            low | (((qh[l] >> (2 * k)) & 3) << 4)
        }),
    }
}

/// A GGUF Q8_0 block (d, 32 signed bytes).
pub fn q8_0_block(raw: &[u8]) -> SourceBlock {
    let mut q = [0i8; BLOCK];
    for (o, b) in q.iter_mut().zip(&raw[2..2 + BLOCK]) {
        *o = *b as i8;
    }
    SourceBlock::Signed8 {
        d: f16_at(raw, 0),
        q,
    }
}
