//! A walk over a GGUF header before candle parses it, for the few ways a damaged or hostile
//! header could make a parser panic instead of failing: an alignment of zero, tensor
//! dimensions whose product overflows, and counts or lengths larger than the file. Every
//! value is bounds-checked against the bytes that remain; nothing is allocated by a length
//! read from the file.

use std::io::Read;

/// Value types, as numbered in the GGUF format.
const UINT8: u32 = 0;
const INT8: u32 = 1;
const UINT16: u32 = 2;
const INT16: u32 = 3;
const UINT32: u32 = 4;
const INT32: u32 = 5;
const FLOAT32: u32 = 6;
const BOOL: u32 = 7;
const STRING: u32 = 8;
const ARRAY: u32 = 9;
const UINT64: u32 = 10;
const INT64: u32 = 11;
const FLOAT64: u32 = 12;

/// Reads the header from `reader` (which holds `len` bytes) and says what is wrong with it,
/// if anything that could crash a parser; other damage is left to the parser's own errors.
pub fn check_header(reader: &mut impl Read, len: u64) -> Result<(), String> {
    let mut r = Walker {
        reader,
        left: len,
        version: 0,
    };
    let magic = r.u32()?;
    if magic != u32::from_le_bytes(*b"GGUF") {
        return Err("it does not start with the GGUF magic bytes".into());
    }
    r.version = r.u32()?;
    let tensors = r.count()?;
    let entries = r.count()?;
    for _ in 0..entries {
        let key = r.string()?;
        let ty = r.u32()?;
        if key == b"general.alignment" {
            let alignment = match ty {
                UINT8 | INT8 => r.fixed(1)?,
                UINT16 | INT16 => r.fixed(2)?,
                UINT32 | INT32 => r.fixed(4)?,
                _ => {
                    r.value(ty, 0)?;
                    continue;
                }
            };
            if alignment == 0 {
                return Err("its general.alignment is 0".into());
            }
        } else {
            r.value(ty, 0)?;
        }
    }
    for _ in 0..tensors {
        let name = r.string()?;
        let dims = r.u32()?;
        if dims > 4 {
            return Err(format!(
                "tensor {} has {dims} dimensions (at most 4)",
                String::from_utf8_lossy(&name)
            ));
        }
        let mut elements: u64 = 1;
        for _ in 0..dims {
            let d = if r.version == 1 {
                r.u32()? as u64
            } else {
                r.u64()?
            };
            elements = elements.checked_mul(d).ok_or_else(|| {
                format!(
                    "tensor {} has more elements than can be counted",
                    String::from_utf8_lossy(&name)
                )
            })?;
        }
        if elements > 1 << 40 {
            return Err(format!(
                "tensor {} claims {elements} elements",
                String::from_utf8_lossy(&name)
            ));
        }
        r.u32()?;
        r.u64()?;
    }
    Ok(())
}

struct Walker<'a, R> {
    reader: &'a mut R,
    left: u64,
    version: u32,
}

impl<R: Read> Walker<'_, R> {
    fn take(&mut self, n: u64) -> Result<(), String> {
        if n > self.left {
            return Err(format!(
                "its header needs {n} more bytes where {} remain (the file is truncated or \
                 damaged)",
                self.left
            ));
        }
        self.left -= n;
        let copied = std::io::copy(&mut self.reader.take(n), &mut std::io::sink())
            .map_err(|e| format!("reading the header failed: {e}"))?;
        if copied != n {
            return Err("the file ended inside its header".into());
        }
        Ok(())
    }

    fn bytes<const N: usize>(&mut self) -> Result<[u8; N], String> {
        if (N as u64) > self.left {
            return Err("the file ended inside its header".into());
        }
        let mut b = [0u8; N];
        self.reader
            .read_exact(&mut b)
            .map_err(|_| "the file ended inside its header".to_string())?;
        self.left -= N as u64;
        Ok(b)
    }

    fn u32(&mut self) -> Result<u32, String> {
        Ok(u32::from_le_bytes(self.bytes::<4>()?))
    }

    fn u64(&mut self) -> Result<u64, String> {
        Ok(u64::from_le_bytes(self.bytes::<8>()?))
    }

    /// A little-endian unsigned value of `n` bytes.
    fn fixed(&mut self, n: usize) -> Result<u64, String> {
        Ok(match n {
            1 => self.bytes::<1>()?[0] as u64,
            2 => u16::from_le_bytes(self.bytes::<2>()?) as u64,
            _ => self.u32()? as u64,
        })
    }

    /// A count or length: 32 bits in version 1, 64 after.
    fn count(&mut self) -> Result<u64, String> {
        if self.version == 1 {
            self.u32().map(u64::from)
        } else {
            self.u64()
        }
    }

    fn string(&mut self) -> Result<Vec<u8>, String> {
        let len = self.count()?;
        if len > self.left {
            return Err(format!(
                "a string of {len} bytes is longer than the rest of the file"
            ));
        }
        // Keys are short; longer strings are skipped, not kept.
        if len > 256 {
            self.take(len)?;
            return Ok(Vec::new());
        }
        let mut s = vec![0u8; len as usize];
        self.reader
            .read_exact(&mut s)
            .map_err(|_| "the file ended inside its header".to_string())?;
        self.left -= len;
        Ok(s)
    }

    fn value(&mut self, ty: u32, depth: usize) -> Result<(), String> {
        match ty {
            UINT8 | INT8 | BOOL => self.take(1),
            UINT16 | INT16 => self.take(2),
            UINT32 | INT32 | FLOAT32 => self.take(4),
            UINT64 | INT64 | FLOAT64 => self.take(8),
            STRING => self.string().map(|_| ()),
            ARRAY => {
                if depth > 4 {
                    return Err("its metadata nests arrays too deeply".into());
                }
                let item = self.u32()?;
                let n = self.count()?;
                // Every item takes at least a byte: a count past the file's end is damage.
                if n > self.left {
                    return Err(format!(
                        "an array of {n} values is longer than the rest of the file"
                    ));
                }
                for _ in 0..n {
                    self.value(item, depth + 1)?;
                }
                Ok(())
            }
            other => Err(format!(
                "its metadata holds a value of unknown type {other}"
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(alignment: u32, dims: &[u64]) -> Vec<u8> {
        let mut b = b"GGUF".to_vec();
        b.extend(3u32.to_le_bytes());
        b.extend(1u64.to_le_bytes());
        b.extend(1u64.to_le_bytes());
        let key = b"general.alignment";
        b.extend((key.len() as u64).to_le_bytes());
        b.extend(key);
        b.extend(UINT32.to_le_bytes());
        b.extend(alignment.to_le_bytes());
        b.extend(1u64.to_le_bytes());
        b.push(b't');
        b.extend((dims.len() as u32).to_le_bytes());
        for d in dims {
            b.extend(d.to_le_bytes());
        }
        b.extend(0u32.to_le_bytes());
        b.extend(0u64.to_le_bytes());
        b
    }

    fn check(b: &[u8]) -> Result<(), String> {
        check_header(&mut &b[..], b.len() as u64)
    }

    #[test]
    fn a_sound_header_passes_and_each_hazard_is_named() {
        assert_eq!(check(&header(32, &[4, 8])), Ok(()));
        assert!(check(&header(0, &[4, 8])).is_err_and(|e| e.contains("alignment is 0")));
        let huge = check(&header(32, &[u64::MAX, 3])).expect_err("overflow");
        assert!(huge.contains("elements"), "{huge}");
        let b = header(32, &[4, 8]);
        for cut in 0..b.len() {
            assert!(check(&b[..cut]).is_err(), "cut at {cut}");
        }
        assert!(check(b"GGML").is_err());
    }
}
