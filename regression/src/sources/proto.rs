//! The protobuf wire format, decoded by hand: only the handful of fields the TensorBoard and W&B
//! readers need, so no generated code and no copy of either project's `.proto` files.
//!
//! <https://protobuf.dev/programming-guides/encoding/>

/// One field's value as it appears on the wire.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Wire<'a> {
    /// Wire type 0: int32/64, uint32/64, sint32/64 (zigzag), bool, enum.
    Varint(u64),
    /// Wire type 1: fixed64, sfixed64, double.
    Fixed64(u64),
    /// Wire type 2: strings, bytes, embedded messages, packed repeated fields.
    Bytes(&'a [u8]),
    /// Wire type 5: fixed32, sfixed32, float.
    Fixed32(u32),
}

impl<'a> Wire<'a> {
    /// A `double` field.
    pub(crate) fn as_f64(self) -> Option<f64> {
        match self {
            Wire::Fixed64(bits) => Some(f64::from_bits(bits)),
            _ => None,
        }
    }

    /// A `float` field.
    pub(crate) fn as_f32(self) -> Option<f32> {
        match self {
            Wire::Fixed32(bits) => Some(f32::from_bits(bits)),
            _ => None,
        }
    }

    /// An `int64`/`int32`/`uint*`/`bool`/`enum` field.
    pub(crate) fn as_i64(self) -> Option<i64> {
        match self {
            Wire::Varint(value) => Some(value as i64),
            _ => None,
        }
    }

    /// A `sint64` field (zigzag encoded).
    pub(crate) fn as_sint64(self) -> Option<i64> {
        match self {
            Wire::Varint(value) => Some((value >> 1) as i64 ^ -((value & 1) as i64)),
            _ => None,
        }
    }

    /// A `string`, `bytes` or embedded message field.
    pub(crate) fn as_bytes(self) -> Option<&'a [u8]> {
        match self {
            Wire::Bytes(bytes) => Some(bytes),
            _ => None,
        }
    }

    /// A `string` field; invalid UTF-8 is replaced rather than refused (names are for people).
    pub(crate) fn as_str(self) -> Option<std::borrow::Cow<'a, str>> {
        self.as_bytes().map(String::from_utf8_lossy)
    }
}

/// Why a message could not be decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ProtoError {
    /// A varint runs past the end or beyond 10 bytes.
    BadVarint,
    /// A length or fixed-width value runs past the end of the message.
    Truncated,
    /// Wire types 3 and 4 (groups, long deprecated) or 6 and 7 (undefined).
    BadWireType(u8),
}

impl std::fmt::Display for ProtoError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ProtoError::BadVarint => f.write_str("malformed protobuf varint"),
            ProtoError::Truncated => f.write_str("protobuf field runs past the end of its message"),
            ProtoError::BadWireType(wire) => write!(f, "unsupported protobuf wire type {wire}"),
        }
    }
}

/// The fields of one message, in order. Fields the caller does not ask about are skipped
/// without being decoded.
#[derive(Debug, Clone)]
pub(crate) struct Fields<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Fields<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Fields<'a> {
        Fields { buf, pos: 0 }
    }

    fn varint(&mut self) -> Result<u64, ProtoError> {
        let mut value = 0u64;
        for shift in (0..70).step_by(7) {
            let &byte = self.buf.get(self.pos).ok_or(ProtoError::BadVarint)?;
            self.pos += 1;
            value |= u64::from(byte & 0x7f) << shift.min(63);
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(ProtoError::BadVarint)
    }

    fn take(&mut self, len: usize) -> Result<&'a [u8], ProtoError> {
        let end = self.pos.checked_add(len).filter(|&end| end <= self.buf.len()).ok_or(ProtoError::Truncated)?;
        let bytes = &self.buf[self.pos..end];
        self.pos = end;
        Ok(bytes)
    }
}

impl<'a> Iterator for Fields<'a> {
    type Item = Result<(u32, Wire<'a>), ProtoError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.pos >= self.buf.len() {
            return None;
        }
        let result = (|| {
            let key = self.varint()?;
            let field = (key >> 3) as u32;
            let wire = match (key & 7) as u8 {
                0 => Wire::Varint(self.varint()?),
                1 => Wire::Fixed64(u64::from_le_bytes(self.take(8)?.try_into().map_err(|_| ProtoError::Truncated)?)),
                2 => {
                    let len = usize::try_from(self.varint()?).map_err(|_| ProtoError::Truncated)?;
                    Wire::Bytes(self.take(len)?)
                }
                5 => Wire::Fixed32(u32::from_le_bytes(self.take(4)?.try_into().map_err(|_| ProtoError::Truncated)?)),
                other => return Err(ProtoError::BadWireType(other)),
            };
            Ok((field, wire))
        })();
        if result.is_err() {
            // Stop after the first error: the rest cannot be framed.
            self.pos = self.buf.len();
        }
        Some(result)
    }
}

/// The first element of a repeated numeric field that may be packed (one `Bytes` holding the
/// elements back to back) or not (the element itself): `width` is 4 for floats, 8 for doubles,
/// 0 for varints.
pub(crate) fn first_packed(wire: Wire<'_>, width: usize) -> Option<Wire<'_>> {
    match (wire, width) {
        (Wire::Bytes(bytes), 4) => bytes.get(..4).map(|b| Wire::Fixed32(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))),
        (Wire::Bytes(bytes), 8) => {
            bytes.get(..8).and_then(|b| b.try_into().ok()).map(|b| Wire::Fixed64(u64::from_le_bytes(b)))
        }
        (Wire::Bytes(bytes), 0) => Fields { buf: bytes, pos: 0 }.varint().ok().map(Wire::Varint),
        (Wire::Bytes(_), _) => None,
        (scalar, _) => Some(scalar),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Encodes fields for tests: the inverse of [`Fields`].
    #[derive(Default)]
    pub(crate) struct Encoder(pub(crate) Vec<u8>);

    impl Encoder {
        fn varint(&mut self, mut value: u64) {
            while value >= 0x80 {
                self.0.push((value as u8) | 0x80);
                value >>= 7;
            }
            self.0.push(value as u8);
        }
        pub(crate) fn uint(mut self, field: u32, value: u64) -> Self {
            self.varint(u64::from(field) << 3);
            self.varint(value);
            self
        }
        pub(crate) fn double(mut self, field: u32, value: f64) -> Self {
            self.varint(u64::from(field) << 3 | 1);
            self.0.extend_from_slice(&value.to_le_bytes());
            self
        }
        pub(crate) fn float(mut self, field: u32, value: f32) -> Self {
            self.varint(u64::from(field) << 3 | 5);
            self.0.extend_from_slice(&value.to_le_bytes());
            self
        }
        pub(crate) fn bytes(mut self, field: u32, value: &[u8]) -> Self {
            self.varint(u64::from(field) << 3 | 2);
            self.varint(value.len() as u64);
            self.0.extend_from_slice(value);
            self
        }
        pub(crate) fn message(self, field: u32, inner: Encoder) -> Self {
            self.bytes(field, &inner.0)
        }
    }

    #[test]
    fn decodes_every_wire_type() {
        let message = Encoder::default()
            .uint(2, 300)
            .double(1, 1.5)
            .float(3, 2.5)
            .bytes(4, b"tag")
            .uint(5, u64::MAX)
            .uint(6, 3) // zigzag: -2
            .0;
        let fields: Vec<_> = Fields::new(&message).collect::<Result<_, _>>().unwrap();
        assert_eq!(fields[0], (2, Wire::Varint(300)));
        assert_eq!(fields[1].1.as_f64(), Some(1.5));
        assert_eq!(fields[2].1.as_f32(), Some(2.5));
        assert_eq!(fields[3].1.as_str().as_deref(), Some("tag"));
        assert_eq!(fields[4].1.as_i64(), Some(-1));
        assert_eq!(fields[5].1.as_sint64(), Some(-2));
        assert_eq!(fields[1].1.as_i64(), None, "wrong wire type reads as absent");
    }

    #[test]
    fn damage_is_an_error_not_a_panic() {
        let message = Encoder::default().bytes(1, b"abcdef").0;
        for cut in 0..message.len() {
            let result: Result<Vec<_>, _> = Fields::new(&message[..cut]).collect();
            assert!(cut == 0 || result.is_err(), "cut at {cut}");
        }
        assert_eq!(Fields::new(&[0x0b]).next(), Some(Err(ProtoError::BadWireType(3))));
        assert_eq!(Fields::new(&[0xff; 11]).next(), Some(Err(ProtoError::BadVarint)));
        // A length that overflows usize arithmetic.
        assert_eq!(
            Fields::new(&[0x0a, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]).next(),
            Some(Err(ProtoError::Truncated))
        );
    }

    #[test]
    fn packed_and_unpacked_first_elements() {
        assert_eq!(first_packed(Wire::Bytes(&2.5f32.to_le_bytes()), 4).and_then(Wire::as_f32), Some(2.5));
        assert_eq!(first_packed(Wire::Fixed32(2.5f32.to_bits()), 4).and_then(Wire::as_f32), Some(2.5));
        assert_eq!(first_packed(Wire::Bytes(&7.0f64.to_le_bytes()), 8).and_then(Wire::as_f64), Some(7.0));
        assert_eq!(first_packed(Wire::Bytes(&[0xac, 0x02]), 0).and_then(Wire::as_i64), Some(300));
        assert_eq!(first_packed(Wire::Bytes(&[1, 2]), 4), None);
    }
}
