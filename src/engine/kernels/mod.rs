//! CPU compute for the local engine, with no model knowledge: packed weight formats, a
//! multi-row quantized matmul, paged attention, the element-wise maths and a spinning thread
//! pool.
//!
//! Every kernel exists twice: an AVX2/FMA version (x86-64, chosen at run time) and a portable
//! one. Both do the same IEEE operations in the same order (integer dot products are exact,
//! then the same fused multiply-adds), so results do not depend on the instruction set, the
//! batch size or the thread count. That is what lets a batch of branches, a cached prefix and a
//! cold prefill give bit-identical tokens.

/// Defines `pub fn $name($args) -> $ret` that runs `$body` with AVX2 and FMA enabled when
/// `isa` allows, else as portable code.
macro_rules! dispatched {
    ($(#[$doc:meta])* $vis:vis $name:ident => $body:ident ($($a:ident: $t:ty),*) -> $ret:ty) => {
        $(#[$doc])*
        $vis fn $name(isa: $crate::engine::kernels::Isa, $($a: $t),*) -> $ret {
            #[cfg(target_arch = "x86_64")]
            if isa.avx2() {
                #[target_feature(enable = "avx2,fma,f16c")]
                unsafe fn fast($($a: $t),*) -> $ret {
                    $body($($a),*)
                }
                // SAFETY: `isa.avx2()` holds only on CPUs with AVX2, FMA and F16C.
                return unsafe { fast($($a),*) };
            }
            let _ = isa;
            $body($($a),*)
        }
    };
}

pub mod attention;
pub mod matmul;
pub mod packed;
pub mod pool;
pub mod quant;
pub mod vecmath;

#[cfg(target_arch = "x86_64")]
mod avx2;
#[cfg(target_arch = "x86_64")]
mod avx512;
mod portable;

use std::sync::OnceLock;

/// Which kernels run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Isa {
    /// Plain Rust; any CPU.
    Portable,
    /// x86-64 with AVX2, FMA and F16C.
    Avx2,
    /// AVX2 plus AVX-512 (F, BW, VL) and VNNI: the integer matmuls multiply and add bytes
    /// in one instruction (`vpdpbusd`); every other kernel is the AVX2 one.
    Avx512Vnni,
}

impl Isa {
    /// The best instruction set this CPU has. `TLOOM_KERNELS=portable` or `=avx2` caps it
    /// (to compare, or to rule out a SIMD fault).
    pub fn detect() -> Isa {
        static DETECTED: OnceLock<Isa> = OnceLock::new();
        *DETECTED.get_or_init(|| {
            let cap = std::env::var("TLOOM_KERNELS").unwrap_or_default();
            if cap == "portable" || !Isa::avx2_available() {
                Isa::Portable
            } else if cap == "avx2" || !Isa::avx512_vnni_available() {
                Isa::Avx2
            } else {
                Isa::Avx512Vnni
            }
        })
    }

    /// Whether the AVX2 kernels may run (`Avx2` and everything above it).
    pub fn avx2(self) -> bool {
        self != Isa::Portable
    }

    /// Whether this CPU can run the AVX2 kernels.
    pub fn avx2_available() -> bool {
        #[cfg(target_arch = "x86_64")]
        {
            is_x86_feature_detected!("avx2")
                && is_x86_feature_detected!("fma")
                && is_x86_feature_detected!("f16c")
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            false
        }
    }

    /// Whether this CPU can run the VNNI kernels (and the AVX2 ones).
    pub fn avx512_vnni_available() -> bool {
        #[cfg(target_arch = "x86_64")]
        {
            Isa::avx2_available()
                && is_x86_feature_detected!("avx512f")
                && is_x86_feature_detected!("avx512bw")
                && is_x86_feature_detected!("avx512vl")
                && is_x86_feature_detected!("avx512vnni")
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            false
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Isa::Portable => "portable",
            Isa::Avx2 => "avx2",
            Isa::Avx512Vnni => "avx512-vnni",
        }
    }
}

/// Asks the CPU to bring `data` into its L1 cache (a hint; no effect on results).
#[inline]
pub(crate) fn prefetch<T>(data: &[T]) {
    #[cfg(target_arch = "x86_64")]
    {
        let bytes = std::mem::size_of_val(data);
        let p = data.as_ptr() as *const i8;
        for off in (0..bytes).step_by(64) {
            // SAFETY: a prefetch of an address inside `data`; it never faults.
            unsafe {
                std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(p.add(off))
            };
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = data;
}

/// How far ahead of the tile being computed the matmul kernels prefetch weights. Measured
/// with weights from memory (`bench kernels` over 40 copies of each matrix, toggled round by
/// round): 2 and 4 tiles both gain, 4 slightly more.
pub(crate) const AHEAD_TILES: usize = 4;

/// Tiles of a weight matrix for a kernel to bring into cache a block at a time while it
/// works on earlier ones: prefetches spread over the work keep memory busy, where a burst
/// at a tile's start would overflow the core's queue of misses and be dropped.
#[derive(Clone, Copy)]
pub(crate) struct Ahead {
    /// The first tile's start; it may lie past the matrix (a prefetch never faults).
    pub at: *const u8,
    /// How many tiles, `stride` bytes apart, from `at`.
    pub tiles: usize,
    pub stride: usize,
}

impl Ahead {
    /// Prefetches block `j` (`bytes` long) of each tile.
    #[inline(always)]
    pub fn block(self, j: usize, bytes: usize) {
        #[cfg(target_arch = "x86_64")]
        for t in 0..self.tiles {
            let p = self.at.wrapping_add(t * self.stride + j * bytes);
            for off in (0..bytes).step_by(64) {
                // SAFETY: a prefetch hint; it never faults, whatever the address.
                unsafe {
                    std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(
                        p.wrapping_add(off) as *const i8,
                    )
                };
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = (j, bytes);
    }
}

/// A raw pointer that pool tasks use to write disjoint parts of one buffer.
#[derive(Clone, Copy)]
pub(crate) struct SharedMut<T> {
    ptr: *mut T,
    len: usize,
}

// SAFETY: users write disjoint ranges only (each task its own rows or columns), and the pool
// joins every task before the buffer is read again.
unsafe impl<T: Send> Send for SharedMut<T> {}
unsafe impl<T: Send> Sync for SharedMut<T> {}

impl<T> SharedMut<T> {
    /// The start of the buffer (to tell buffers apart).
    pub(crate) fn as_ptr(&self) -> *const T {
        self.ptr
    }

    pub(crate) fn new(slice: &mut [T]) -> SharedMut<T> {
        SharedMut {
            ptr: slice.as_mut_ptr(),
            len: slice.len(),
        }
    }

    /// The elements `start..start + len`.
    ///
    /// # Safety
    /// No two live slices from one `SharedMut` may overlap, and the buffer must outlive them.
    #[allow(clippy::mut_from_ref)]
    pub(crate) unsafe fn slice(&self, start: usize, len: usize) -> &mut [T] {
        assert!(start + len <= self.len, "SharedMut range out of bounds");
        // SAFETY: in bounds (checked); disjointness is the caller's promise.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.add(start), len) }
    }
}
