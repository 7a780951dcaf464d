//! A one-pass JSON reader for consent lines: the document as a flat *tape* of nodes in document
//! order, strings borrowed from the line.
//!
//! Why not `serde_json` into a tree: building a tree of vectors through serde's visitor calls
//! cost about 72,000 instructions for a 1.9 KB Consent line (about 150 allocations, plus
//! per-byte string scanning), which made parsing the bottleneck of `akkoord import`. This
//! reader walks the bytes once, scans strings eight bytes at a time (bit tricks on a `u64`, no
//! `unsafe`), writes fixed-size nodes into a vector that is reused between lines of a thread,
//! and only copies a string when it holds an escape.
//!
//! It accepts exactly the documents `serde_json` accepts, so the parser's results and errors do
//! not depend on which reader ran: [`Tape::read`] in strict mode gives up ([`Unsure`]) on
//! anything it does not check as `serde_json` would (a number with an exponent or many digits,
//! whose range it does not check; anything that is not JSON; nesting deeper than `serde_json`
//! allows). The caller then asks `serde_json`, which names the error (with its column) or
//! accepts; in the second case the tape is read again in trusting mode, which reads numbers by
//! their grammar only. Escapes are decoded as `serde_json` decodes them into a `&str` (paired
//! surrogates joined, lone surrogates rejected).
//!
//! Nesting is bounded by [`MAX_DEPTH`] (as `serde_json`'s), so hostile input cannot grow the
//! container stack; it is a fixed array.

/// `serde_json` rejects the 128th nested array or object; so does this reader.
pub(super) const MAX_DEPTH: usize = 127;

/// What a node holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub(super) enum Kind {
    #[default]
    Null,
    Bool,
    Number,
    String,
    Array,
    Object,
}

/// A piece of text: in the line, or (when it held an escape) in the tape's scratch string.
/// Offsets are `u32` (small nodes); lines of 2 GiB or more are left to `serde_json`.
#[derive(Clone, Copy, Debug, Default)]
struct Span {
    start: u32,
    /// The length; the top bit ([`DECODED`]) says the text is in [`Tape::scratch`].
    len: u32,
}

/// Flag in [`Span::len`]: the text was decoded into the scratch string.
const DECODED: u32 = 1 << 31;
/// Texts and lines must stay below this length.
const MAX_LEN: usize = DECODED as usize;

impl Span {
    fn len(self) -> usize {
        (self.len & !DECODED) as usize
    }
}

/// One JSON value. A container's members follow it directly; `end` is the index just past its
/// last descendant, so siblings are found without walking children.
#[derive(Clone, Copy, Debug, Default)]
struct Node {
    /// The first eight bytes of the member name (zero-padded), see [`Key`].
    key_word: u64,
    /// The member name when this value sits in an object.
    key: Span,
    /// A string's text.
    text: Span,
    /// Index one past this node's subtree.
    end: u32,
    /// Items of an array or members of an object.
    len: u32,
    kind: Kind,
}

/// The reader gave up; `serde_json` must decide (see the module doc).
#[derive(Debug)]
pub(super) struct Unsure;

/// A read line: its nodes (the root first) over the text they borrow from.
pub(super) struct Tape<'j> {
    src: &'j str,
    nodes: Vec<Node>,
    scratch: String,
}

/// Buffers kept between lines, so that reading a line allocates nothing once a thread has read
/// one like it.
#[derive(Default)]
pub(super) struct Buffers {
    nodes: Vec<Node>,
    scratch: String,
}

/// Above this many nodes the buffers are not kept (a pathological line should not pin memory).
const KEEP_NODES: usize = 1 << 16;

impl Buffers {
    /// Takes this thread's buffers (fresh ones if another call holds them or the thread is
    /// exiting).
    pub(super) fn take() -> Buffers {
        BUFFERS.try_with(std::cell::Cell::take).unwrap_or_default()
    }

    /// Hands buffers back for the next line of this thread.
    pub(super) fn give_back(mut self) {
        if self.nodes.capacity() > KEEP_NODES || self.scratch.capacity() > KEEP_NODES * 16 {
            return;
        }
        self.nodes.clear();
        self.scratch.clear();
        let _ = BUFFERS.try_with(|b| b.set(self));
    }
}

thread_local! {
    static BUFFERS: std::cell::Cell<Buffers> = std::cell::Cell::new(Buffers::default());
}

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// Marks the bytes of a little-endian word that end or interrupt a plain string: `"`, `\\` and
/// control bytes below 0x20 (which JSON forbids raw in strings), by the high bit of each byte.
/// Marks above the lowest one may be false (borrows), the lowest one is exact.
///
/// Two tests instead of three: `x ^ 0x02` turns `"` (0x22) into 0x20 and keeps control bytes
/// below 0x20, so "below 0x21" after it catches both; `x ^ 0x5c` turns `\\` into zero. Both
/// flipped patterns have the high bit clear, so they share one `& !x & HIGHS`.
#[inline(always)]
fn string_marks(x: u64) -> u64 {
    let quote_or_control = (x ^ (ONES * 0x02)).wrapping_sub(ONES * 0x21);
    let backslash = (x ^ (ONES * u64::from(b'\\'))).wrapping_sub(ONES);
    (quote_or_control | backslash) & !x & HIGHS
}

/// The word of eight bytes at `i`, if there are eight.
#[inline(always)]
fn word_at(b: &[u8], i: usize) -> Option<u64> {
    let chunk = b.get(i..i + 8)?;
    let mut word = [0u8; 8];
    word.copy_from_slice(chunk);
    Some(u64::from_le_bytes(word))
}

/// Index of the first `"`, `\\` or control byte at or after `i`, or `b.len()`. Sixteen bytes
/// a step (two words, one branch) while they last: most of a line is URLs in strings.
#[inline(always)]
fn find_special(b: &[u8], mut i: usize) -> usize {
    if let Some(x) = word_at(b, i) {
        // Most strings (member names, codes) end in their first word.
        let marks = string_marks(x);
        if marks != 0 {
            return i + (marks.trailing_zeros() / 8) as usize;
        }
        i += 8;
        while let (Some(x), Some(y)) = (word_at(b, i), word_at(b, i + 8)) {
            let (mx, my) = (string_marks(x), string_marks(y));
            if mx | my != 0 {
                return if mx != 0 {
                    i + (mx.trailing_zeros() / 8) as usize
                } else {
                    i + 8 + (my.trailing_zeros() / 8) as usize
                };
            }
            i += 16;
        }
        if let Some(x) = word_at(b, i) {
            let marks = string_marks(x);
            if marks != 0 {
                return i + (marks.trailing_zeros() / 8) as usize;
            }
            i += 8;
        }
    }
    while let Some(&c) = b.get(i) {
        if c == b'"' || c == b'\\' || c < 0x20 {
            return i;
        }
        i += 1;
    }
    i
}

fn is_ws(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | b'\r')
}

/// Index of the first non-whitespace byte at or after `i`. One comparison when there is none
/// (as in every generated line): all JSON whitespace is at most `b' '`.
#[inline(always)]
fn skip_ws(b: &[u8], i: usize) -> usize {
    match b.get(i) {
        Some(&c) if c <= b' ' => skip_ws_slow(b, i),
        _ => i,
    }
}

#[inline(never)]
fn skip_ws_slow(b: &[u8], mut i: usize) -> usize {
    while let Some(&c) = b.get(i) {
        if !is_ws(c) {
            break;
        }
        i += 1;
    }
    i
}

fn to_u32(n: usize) -> Result<u32, Unsure> {
    if n < MAX_LEN {
        Ok(n as u32)
    } else {
        Err(Unsure)
    }
}

/// Four hex digits at `i`, as `serde_json` reads them after `\u`.
fn hex4(b: &[u8], i: usize) -> Result<u32, Unsure> {
    let digits = b.get(i..i + 4).ok_or(Unsure)?;
    let mut n = 0u32;
    for &d in digits {
        let v = match d {
            b'0'..=b'9' => d - b'0',
            b'a'..=b'f' => d - b'a' + 10,
            b'A'..=b'F' => d - b'A' + 10,
            _ => return Err(Unsure),
        };
        n = n * 16 + u32::from(v);
    }
    Ok(n)
}

impl<'j> Tape<'j> {
    /// Reads `src` (one JSON document, no surrounding text but whitespace) into `buffers`.
    /// `trust_numbers`: read numbers by their grammar only (`serde_json` has accepted `src`).
    pub(super) fn read(
        src: &'j str,
        buffers: Buffers,
        trust_numbers: bool,
    ) -> Result<Tape<'j>, (Unsure, Buffers)> {
        let mut tape = Tape {
            src,
            nodes: buffers.nodes,
            scratch: buffers.scratch,
        };
        tape.nodes.clear();
        tape.scratch.clear();
        match tape.fill(trust_numbers) {
            Ok(()) => Ok(tape),
            Err(u) => Err((u, tape.into_buffers())),
        }
    }

    /// The buffers, for the next line.
    pub(super) fn into_buffers(self) -> Buffers {
        Buffers {
            nodes: self.nodes,
            scratch: self.scratch,
        }
    }

    /// The reading loop, iterative: `stack` holds the open containers above the innermost,
    /// whose node index, member count and kind stay in locals.
    fn fill(&mut self, trust_numbers: bool) -> Result<(), Unsure> {
        let b = self.src.as_bytes();
        to_u32(b.len())?;
        // Node index and member count of each enclosing container.
        let mut stack = [(0u32, 0u32); MAX_DEPTH];
        let mut depth = 0usize;
        // The innermost open container (when `depth > 0`).
        let (mut top, mut top_len, mut top_is_object) = (0u32, 0u32, false);
        let mut i = 0usize;
        let mut key = (Span::default(), 0u64);
        loop {
            // A value is expected here (the member `key` of the open object, if any).
            i = skip_ws(b, i);
            // Fits: every node takes at least one byte of the line, whose length fits.
            let at = self.nodes.len() as u32;
            let mut node = Node {
                key: key.0,
                key_word: key.1,
                end: at + 1,
                ..Node::default()
            };
            match b.get(i) {
                Some(b'"') => {
                    (node.text, i) = self.string(b, i + 1)?;
                    node.kind = Kind::String;
                    self.nodes.push(node);
                }
                Some(&open @ (b'{' | b'[')) => {
                    let is_object = open == b'{';
                    node.kind = if is_object { Kind::Object } else { Kind::Array };
                    self.nodes.push(node);
                    i = skip_ws(b, i + 1);
                    let close = if is_object { b'}' } else { b']' };
                    if b.get(i) == Some(&close) {
                        // Empty: `end` and `len` are already right.
                        i += 1;
                    } else {
                        if depth > 0 {
                            *stack.get_mut(depth - 1).ok_or(Unsure)? = (top, top_len);
                        }
                        if depth == MAX_DEPTH {
                            return Err(Unsure);
                        }
                        depth += 1;
                        (top, top_len, top_is_object) = (at, 0, is_object);
                        if is_object {
                            (key, i) = self.member_name(b, i)?;
                        } else {
                            key = (Span::default(), 0);
                        }
                        continue;
                    }
                }
                Some(b't') => {
                    i = literal(b, i, b"true")?;
                    node.kind = Kind::Bool;
                    self.nodes.push(node);
                }
                Some(b'f') => {
                    i = literal(b, i, b"false")?;
                    node.kind = Kind::Bool;
                    self.nodes.push(node);
                }
                Some(b'n') => {
                    i = literal(b, i, b"null")?;
                    self.nodes.push(node);
                }
                Some(b'-' | b'0'..=b'9') => {
                    i = number(b, i, trust_numbers)?;
                    node.kind = Kind::Number;
                    self.nodes.push(node);
                }
                _ => return Err(Unsure),
            }
            // A value is complete: count it, close the containers that end here, and move on
            // to the next value.
            loop {
                if depth == 0 {
                    // The root is complete; only whitespace may follow.
                    return if skip_ws(b, i) == b.len() {
                        Ok(())
                    } else {
                        Err(Unsure)
                    };
                }
                top_len += 1;
                i = skip_ws(b, i);
                match b.get(i) {
                    Some(b',') => {
                        if top_is_object {
                            (key, i) = self.member_name(b, skip_ws(b, i + 1))?;
                        } else {
                            key = (Span::default(), 0);
                            i += 1;
                        }
                        break;
                    }
                    Some(b'}') if top_is_object => {}
                    Some(b']') if !top_is_object => {}
                    _ => return Err(Unsure),
                }
                // The container closes, and is itself a complete value.
                let end = self.nodes.len() as u32;
                let container = self.nodes.get_mut(top as usize).ok_or(Unsure)?;
                container.end = end;
                container.len = top_len;
                depth -= 1;
                if depth > 0 {
                    (top, top_len) = *stack.get(depth - 1).ok_or(Unsure)?;
                    top_is_object =
                        self.nodes.get(top as usize).ok_or(Unsure)?.kind == Kind::Object;
                }
                i += 1;
            }
        }
    }

    /// A member name at `i` (its opening quote) and the `:` after it; the name and the index
    /// past the colon.
    #[inline(always)]
    fn member_name(&mut self, b: &[u8], i: usize) -> Result<((Span, u64), usize), Unsure> {
        if b.get(i) != Some(&b'"') {
            return Err(Unsure);
        }
        let (name, next) = self.string(b, i + 1)?;
        let colon = skip_ws(b, next);
        if b.get(colon) != Some(&b':') {
            return Err(Unsure);
        }
        let word = if name.len & DECODED != 0 {
            Key::word_of(self.text(name).as_bytes())
        } else {
            match b.get(i + 1..i + 9) {
                // The usual case: one load, masked to the name's length.
                Some(chunk) => {
                    let mut word = [0u8; 8];
                    word.copy_from_slice(chunk);
                    let keep = match name.len {
                        0 => 0,
                        n @ 1..=7 => u64::MAX >> (64 - 8 * n),
                        _ => u64::MAX,
                    };
                    u64::from_le_bytes(word) & keep
                }
                None => Key::word_of(b.get(i + 1..next - 1).unwrap_or_default()),
            }
        };
        Ok(((name, word), colon + 1))
    }

    /// A string whose text starts at `i` (just past the opening quote); its text and the index
    /// past the closing quote.
    #[inline(always)]
    fn string(&mut self, b: &[u8], i: usize) -> Result<(Span, usize), Unsure> {
        let j = find_special(b, i);
        match b.get(j) {
            // Offsets fit: the line's length was checked against `u32`.
            Some(b'"') => Ok((
                Span {
                    start: i as u32,
                    len: (j - i) as u32,
                },
                j + 1,
            )),
            Some(b'\\') => self.escaped_string(b, i, j),
            // A raw control byte, or the line ends inside the string.
            _ => Err(Unsure),
        }
    }

    /// The slow way, for a string holding an escape (first at `j`): decodes it into
    /// `scratch`, as `serde_json` decodes escapes into a `&str`.
    #[cold]
    fn escaped_string(
        &mut self,
        b: &[u8],
        start: usize,
        mut j: usize,
    ) -> Result<(Span, usize), Unsure> {
        let src = self.src;
        let first = self.scratch.len();
        let mut from = start;
        loop {
            // `b[j]` is a backslash; copy the plain text before it.
            self.scratch.push_str(src.get(from..j).ok_or(Unsure)?);
            let decoded = match b.get(j + 1) {
                Some(b'"') => '"',
                Some(b'\\') => '\\',
                Some(b'/') => '/',
                Some(b'b') => '\u{8}',
                Some(b'f') => '\u{c}',
                Some(b'n') => '\n',
                Some(b'r') => '\r',
                Some(b't') => '\t',
                Some(b'u') => {
                    let n = hex4(b, j + 2)?;
                    let code = match n {
                        // A trailing surrogate first: serde_json rejects it.
                        0xDC00..=0xDFFF => return Err(Unsure),
                        0xD800..=0xDBFF => {
                            // A leading surrogate must be followed by `\u` and a trailing one.
                            if b.get(j + 6..j + 8) != Some(b"\\u") {
                                return Err(Unsure);
                            }
                            let low = hex4(b, j + 8)?;
                            if !(0xDC00..=0xDFFF).contains(&low) {
                                return Err(Unsure);
                            }
                            j += 6;
                            0x1_0000 + (((n - 0xD800) << 10) | (low - 0xDC00))
                        }
                        _ => n,
                    };
                    j += 4;
                    char::from_u32(code).ok_or(Unsure)?
                }
                _ => return Err(Unsure),
            };
            self.scratch.push(decoded);
            from = j + 2;
            j = find_special(b, from);
            match b.get(j) {
                Some(b'"') => {
                    self.scratch.push_str(src.get(from..j).ok_or(Unsure)?);
                    let span = Span {
                        start: to_u32(first)?,
                        len: to_u32(self.scratch.len() - first)? | DECODED,
                    };
                    to_u32(self.scratch.len())?;
                    return Ok((span, j + 1));
                }
                Some(b'\\') => {}
                _ => return Err(Unsure),
            }
        }
    }

    fn text(&self, span: Span) -> &str {
        let range = span.start as usize..span.start as usize + span.len();
        let text = if span.len & DECODED != 0 {
            self.scratch.get(range)
        } else {
            self.src.get(range)
        };
        // Spans are made by `fill`, on character boundaries; never empty by mistake.
        text.unwrap_or_default()
    }

    /// The root value.
    pub(super) fn root(&self) -> Val<'_> {
        Val { tape: self, at: 0 }
    }
}

/// A member name to look up, with its first eight bytes as a little-endian word (zero-padded),
/// so that a lookup compares one word and a length per member instead of calling `memcmp`.
/// Made by `const` items, so the word is computed at compile time.
#[derive(Clone, Copy)]
pub(super) struct Key {
    text: &'static str,
    word: u64,
}

impl Key {
    pub(super) const fn new(text: &'static str) -> Key {
        Key {
            text,
            word: Key::word_of(text.as_bytes()),
        }
    }

    pub(super) fn text(self) -> &'static str {
        self.text
    }

    const fn word_of(bytes: &[u8]) -> u64 {
        let mut word = 0u64;
        let mut i = 0;
        while i < bytes.len() && i < 8 {
            word |= (bytes[i] as u64) << (8 * i);
            i += 1;
        }
        word
    }
}

/// A value in a [`Tape`]: the few accessors the consent parser needs, with
/// `serde_json::Value`'s meaning (`get` on a non-object is `None`; with a duplicate key the
/// last one wins), so results and errors are those of the earlier tree-based parser.
#[derive(Clone, Copy)]
pub(super) struct Val<'t> {
    tape: &'t Tape<'t>,
    at: usize,
}

impl<'t> Val<'t> {
    #[inline(always)]
    fn node(self) -> &'t Node {
        const NONE: Node = Node {
            key_word: 0,
            key: Span { start: 0, len: 0 },
            text: Span { start: 0, len: 0 },
            end: 0,
            len: 0,
            kind: Kind::Null,
        };
        self.tape.nodes.get(self.at).unwrap_or(&NONE)
    }

    pub(super) fn is_object(self) -> bool {
        self.node().kind == Kind::Object
    }

    /// The member `key` of an object (the last one of that name).
    #[inline]
    pub(super) fn get(self, key: Key) -> Option<Val<'t>> {
        let node = self.node();
        if node.kind != Kind::Object {
            return None;
        }
        let mut found = None;
        let mut at = self.at + 1;
        for _ in 0..node.len {
            let member = self.tape.nodes.get(at)?;
            // Names of up to eight bytes are equal when their words and lengths are.
            if member.key_word == key.word
                && member.key.len() == key.text.len()
                && (key.text.len() <= 8 || self.tape.text(member.key) == key.text)
            {
                found = Some(at);
            }
            at = member.end as usize;
        }
        found.map(|at| Val {
            tape: self.tape,
            at,
        })
    }

    pub(super) fn as_str(self) -> Option<&'t str> {
        let node = self.node();
        (node.kind == Kind::String).then(|| self.tape.text(node.text))
    }

    /// The items of an array.
    pub(super) fn as_array(self) -> Option<Items<'t>> {
        let node = self.node();
        (node.kind == Kind::Array).then_some(Items {
            tape: self.tape,
            at: self.at + 1,
            left: node.len as usize,
        })
    }
}

/// The items of an array, in order.
#[derive(Clone)]
pub(super) struct Items<'t> {
    tape: &'t Tape<'t>,
    at: usize,
    left: usize,
}

impl<'t> Iterator for Items<'t> {
    type Item = Val<'t>;

    fn next(&mut self) -> Option<Val<'t>> {
        if self.left == 0 {
            return None;
        }
        let node = self.tape.nodes.get(self.at)?;
        let item = Val {
            tape: self.tape,
            at: self.at,
        };
        self.left -= 1;
        self.at = node.end as usize;
        Some(item)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

impl ExactSizeIterator for Items<'_> {}

fn literal(b: &[u8], i: usize, word: &[u8]) -> Result<usize, Unsure> {
    if b.get(i..i + word.len()) == Some(word) {
        Ok(i + word.len())
    } else {
        Err(Unsure)
    }
}

/// A number at `i` by JSON's grammar; the index past it. Unless `trusted`, only numbers whose
/// range cannot matter (no exponent, at most 20 characters) are accepted.
fn number(b: &[u8], mut i: usize, trusted: bool) -> Result<usize, Unsure> {
    let start = i;
    if b.get(i) == Some(&b'-') {
        i += 1;
    }
    let digits = |b: &[u8], i: usize| {
        i + b[i.min(b.len())..]
            .iter()
            .take_while(|c| c.is_ascii_digit())
            .count()
    };
    match b.get(i) {
        Some(b'0') => i += 1,
        Some(b'1'..=b'9') => i = digits(b, i),
        _ => return Err(Unsure),
    }
    if b.get(i) == Some(&b'.') {
        let end = digits(b, i + 1);
        if end == i + 1 {
            return Err(Unsure);
        }
        i = end;
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        if !trusted {
            return Err(Unsure);
        }
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        let end = digits(b, i);
        if end == i {
            return Err(Unsure);
        }
        i = end;
    }
    if !trusted && i - start > 20 {
        return Err(Unsure);
    }
    Ok(i)
}
