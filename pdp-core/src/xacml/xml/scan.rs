//! Byte-class scans under the XML cursor ([`super::stream`]): the end of a name, the closing
//! quote of an attribute value and the end of white space, sixteen bytes per step.
//!
//! Why: the cursor's time goes into finding where names, values and indentation end, a few
//! dozen bytes at a time, hundreds of times per request. On x86-64 each step compares a
//! 16-byte group against the delimiters with SSE2 (part of every x86-64 processor, reached
//! through `safe_arch`'s safe wrappers, so no `unsafe` here) and reads the answer from one bit
//! mask; other targets use the same steps on plain bytes. The last, shorter group of the input
//! is copied into a 16-byte buffer padded with a byte chosen so that the scan stops at the
//! end of the input, so there is no separate tail loop.

/// A value holds a `<` (an error in an attribute value).
pub const V_LT: u8 = 1;
/// A value holds a `&` or a byte below 0x20 (tab, CR, LF or an invalid control byte): it goes
/// through the normalising path of the cursor's `attr_value`.
pub const V_SPECIAL: u8 = 2;

const GROUP: usize = 16;

#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
mod group {
    use safe_arch::{
        cmp_eq_mask_i8_m128i, load_unaligned_m128i, m128i, min_u8_m128i, move_mask_i8_m128i,
        set_splat_i8_m128i, sub_i8_m128i,
    };

    /// Sixteen bytes in a vector register.
    #[derive(Clone, Copy)]
    pub struct Group(m128i);

    /// A per-byte mask (0xff where the test holds).
    #[derive(Clone, Copy)]
    pub struct Mask(m128i);

    impl Group {
        #[inline(always)]
        pub fn load(bytes: &[u8; 16]) -> Group {
            Group(load_unaligned_m128i(bytes))
        }

        #[inline(always)]
        pub fn eq(self, b: u8) -> Mask {
            Mask(cmp_eq_mask_i8_m128i(
                self.0,
                set_splat_i8_m128i(i8::from_ne_bytes([b])),
            ))
        }

        /// Bytes at most `b`, unsigned: `min(x, b) == x`.
        #[inline(always)]
        pub fn at_most(self, b: u8) -> Mask {
            let bound = set_splat_i8_m128i(i8::from_ne_bytes([b]));
            Mask(cmp_eq_mask_i8_m128i(min_u8_m128i(self.0, bound), self.0))
        }

        /// Bytes in `lo..=hi`, unsigned: `x - lo` (wrapping) at most `hi - lo`.
        #[inline(always)]
        pub fn in_range(self, lo: u8, hi: u8) -> Mask {
            let shifted = Group(sub_i8_m128i(
                self.0,
                set_splat_i8_m128i(i8::from_ne_bytes([lo])),
            ));
            shifted.at_most(hi.wrapping_sub(lo))
        }
    }

    impl Mask {
        #[inline(always)]
        pub fn or(self, other: Mask) -> Mask {
            Mask(self.0 | other.0)
        }

        /// One bit per byte, the first byte in bit 0.
        #[inline(always)]
        pub fn bits(self) -> u32 {
            // `movemask` fills the low 16 bits only; the cast keeps them.
            move_mask_i8_m128i(self.0) as u32 & 0xffff
        }
    }
}

#[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
mod group {
    /// Sixteen bytes (the portable form of the same steps).
    #[derive(Clone, Copy)]
    pub struct Group([u8; 16]);

    /// One bit per byte where the test holds.
    #[derive(Clone, Copy)]
    pub struct Mask(u32);

    impl Group {
        #[inline(always)]
        pub fn load(bytes: &[u8; 16]) -> Group {
            Group(*bytes)
        }

        #[inline(always)]
        fn test(self, f: impl Fn(u8) -> bool) -> Mask {
            let mut bits = 0u32;
            for (i, &b) in self.0.iter().enumerate() {
                bits |= u32::from(f(b)) << i;
            }
            Mask(bits)
        }

        #[inline(always)]
        pub fn eq(self, b: u8) -> Mask {
            self.test(|x| x == b)
        }

        #[inline(always)]
        pub fn at_most(self, b: u8) -> Mask {
            self.test(|x| x <= b)
        }

        #[inline(always)]
        pub fn in_range(self, lo: u8, hi: u8) -> Mask {
            self.test(|x| (lo..=hi).contains(&x))
        }
    }

    impl Mask {
        #[inline(always)]
        pub fn or(self, other: Mask) -> Mask {
            Mask(self.0 | other.0)
        }

        #[inline(always)]
        pub fn bits(self) -> u32 {
            self.0
        }
    }
}

use group::Group;

/// The group of `bytes` that starts at `at`; past the end it is filled up with `pad`.
#[inline(always)]
fn group_at(bytes: &[u8], at: usize, pad: u8) -> Group {
    match bytes.get(at..at + GROUP) {
        Some(chunk) => {
            let mut buf = [0u8; GROUP];
            buf.copy_from_slice(chunk);
            Group::load(&buf)
        }
        None => {
            let mut buf = [pad; GROUP];
            let tail = bytes.get(at..).unwrap_or_default();
            buf.get_mut(..tail.len())
                .unwrap_or_default()
                .copy_from_slice(tail);
            Group::load(&buf)
        }
    }
}

/// The bits below bit `n` (`n` ≤ 16).
#[inline(always)]
fn below(n: u32) -> u32 {
    (1u32 << n) - 1
}

/// Where the name that starts `rest` ends and where its first colon is (both relative to
/// `rest`). A name ends at the first byte that no XML name contains among those a tag puts
/// after one: any byte below `-` (white space, control bytes, quotes and the punctuation
/// `!"#$%&'()*+,`), `/`, `<`, `=` or `>`; the end of the input ends it too. (Three range tests
/// instead of one per delimiter: other punctuation such as `;` stays in the name and is
/// refused by whoever reads it, as before.)
#[inline]
pub fn name_end(rest: &[u8]) -> (usize, Option<usize>) {
    let mut colon = None;
    let mut at = 0;
    loop {
        // Padding with a space ends the name at the end of the input.
        let g = group_at(rest, at, b' ');
        let ends = g
            .at_most(b'-' - 1)
            .or(g.eq(b'/'))
            .or(g.in_range(b'<', b'>'))
            .bits();
        let colons = g.eq(b':').bits();
        if ends != 0 {
            let n = ends.trailing_zeros();
            let before = colons & below(n);
            if colon.is_none() && before != 0 {
                colon = Some(at + before.trailing_zeros() as usize);
            }
            return ((at + n as usize).min(rest.len()), colon);
        }
        if colon.is_none() && colons != 0 {
            colon = Some(at + colons.trailing_zeros() as usize);
        }
        at += GROUP;
    }
}

/// Scans an attribute value up to its closing `quote`: the value's length and its flags
/// ([`V_LT`], [`V_SPECIAL`]), or `None` when the quote never comes.
#[inline]
pub fn value_end(rest: &[u8], quote: u8) -> Option<(usize, u8)> {
    let mut flags = 0u32;
    let mut at = 0;
    loop {
        // Padding with the quote stops the scan at the end of the input.
        let g = group_at(rest, at, quote);
        let quotes = g.eq(quote).bits();
        let lt = g.eq(b'<').bits();
        let special = g.eq(b'&').or(g.at_most(0x1f)).bits();
        let keep = if quotes != 0 {
            below(quotes.trailing_zeros())
        } else {
            u32::MAX
        };
        if lt & keep != 0 {
            flags |= u32::from(V_LT);
        }
        if special & keep != 0 {
            flags |= u32::from(V_SPECIAL);
        }
        if quotes != 0 {
            let len = at + quotes.trailing_zeros() as usize;
            // The flags fit in a byte: they are V_LT and V_SPECIAL only.
            return (len < rest.len()).then_some((len, flags as u8));
        }
        at += GROUP;
    }
}

/// The length of the XML white space (`#x20 | #x9 | #xD | #xA`) that starts `rest`.
#[inline]
pub fn ws_len(rest: &[u8]) -> usize {
    let mut at = 0;
    loop {
        // Padding with a letter stops the scan at the end of the input.
        let g = group_at(rest, at, b'a');
        let ws = g
            .eq(b' ')
            .or(g.eq(b'\n'))
            .or(g.eq(b'\t'))
            .or(g.eq(b'\r'))
            .bits();
        let other = !ws & 0xffff;
        if other != 0 {
            return (at + other.trailing_zeros() as usize).min(rest.len());
        }
        at += GROUP;
    }
}
