//! A JSON parser that keeps where each value starts (line and column, from 1), because
//! upstream's JSON dispatcher names that place in its messages ("file:2:14: Object
//! field 'x' has wrong type ..."). Types as systemd's JSON code classifies them: a
//! non-negative integer is "unsigned", a negative one "integer", any other number
//! "real". Pure.

/// Where a value starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pos {
    /// From 1.
    pub line: u32,
    /// From 1.
    pub column: u32,
}

/// A value and where it starts.
#[derive(Debug, Clone, PartialEq)]
pub struct Located {
    /// Its first character.
    pub pos: Pos,
    /// The value.
    pub value: Value,
}

/// A JSON value; objects keep their members in file order.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `null`.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// A non-negative integer.
    Unsigned(u64),
    /// A negative integer.
    Integer(i64),
    /// Any other number.
    Real(f64),
    /// A string.
    String(String),
    /// An array.
    Array(Vec<Located>),
    /// An object: (key, value) in file order.
    Object(Vec<(String, Located)>),
}

impl Value {
    /// systemd's name of the type (sd_json_variant_type_to_string).
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "boolean",
            Value::Unsigned(_) => "unsigned",
            Value::Integer(_) => "integer",
            Value::Real(_) => "real",
            Value::String(_) => "string",
            Value::Array(_) => "array",
            Value::Object(_) => "object",
        }
    }

    /// The member `key` of an object.
    pub fn get(&self, key: &str) -> Option<&Located> {
        match self {
            Value::Object(m) => m.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }
}

/// Why a text is not one JSON value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// Nothing but white space (upstream: ENODATA).
    #[error("no data")]
    Empty,
    /// Anything else (upstream: EINVAL).
    #[error("invalid JSON")]
    Invalid,
}

/// Parses one JSON value filling the whole text (white space around it allowed).
pub fn parse(text: &[u8]) -> Result<Located, ParseError> {
    let mut p = Parser {
        s: text,
        i: 0,
        line: 1,
        col: 1,
        depth: 0,
    };
    p.ws();
    if p.i == p.s.len() {
        return Err(ParseError::Empty);
    }
    let v = p.value()?;
    p.ws();
    if p.i != p.s.len() {
        return Err(ParseError::Invalid);
    }
    Ok(v)
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
    line: u32,
    col: u32,
    depth: u32,
}

const MAX_DEPTH: u32 = 2048;

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn bump(&mut self) -> Option<u8> {
        let c = self.peek()?;
        self.i += 1;
        if c == b'\n' {
            self.line += 1;
            self.col = 1;
        } else if c & 0xc0 != 0x80 {
            // Columns count characters, not UTF-8 continuation bytes.
            self.col += 1;
        }
        Some(c)
    }

    fn ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.bump();
        }
    }

    fn expect(&mut self, c: u8) -> Result<(), ParseError> {
        (self.bump() == Some(c))
            .then_some(())
            .ok_or(ParseError::Invalid)
    }

    fn value(&mut self) -> Result<Located, ParseError> {
        let pos = Pos {
            line: self.line,
            column: self.col,
        };
        let value = match self.peek().ok_or(ParseError::Invalid)? {
            b'{' => self.object()?,
            b'[' => self.array()?,
            b'"' => Value::String(self.string()?),
            b't' => self.word(b"true", Value::Bool(true))?,
            b'f' => self.word(b"false", Value::Bool(false))?,
            b'n' => self.word(b"null", Value::Null)?,
            b'-' | b'0'..=b'9' => self.number()?,
            _ => return Err(ParseError::Invalid),
        };
        Ok(Located { pos, value })
    }

    fn nested<T>(
        &mut self,
        f: impl FnOnce(&mut Self) -> Result<T, ParseError>,
    ) -> Result<T, ParseError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(ParseError::Invalid);
        }
        let r = f(self);
        self.depth -= 1;
        r
    }

    fn object(&mut self) -> Result<Value, ParseError> {
        self.nested(|p| {
            p.expect(b'{')?;
            let mut members = Vec::new();
            p.ws();
            if p.peek() == Some(b'}') {
                p.bump();
                return Ok(Value::Object(members));
            }
            loop {
                p.ws();
                if p.peek() != Some(b'"') {
                    return Err(ParseError::Invalid);
                }
                let key = p.string()?;
                p.ws();
                p.expect(b':')?;
                p.ws();
                let v = p.value()?;
                members.push((key, v));
                p.ws();
                match p.bump() {
                    Some(b',') => continue,
                    Some(b'}') => return Ok(Value::Object(members)),
                    _ => return Err(ParseError::Invalid),
                }
            }
        })
    }

    fn array(&mut self) -> Result<Value, ParseError> {
        self.nested(|p| {
            p.expect(b'[')?;
            let mut items = Vec::new();
            p.ws();
            if p.peek() == Some(b']') {
                p.bump();
                return Ok(Value::Array(items));
            }
            loop {
                p.ws();
                items.push(p.value()?);
                p.ws();
                match p.bump() {
                    Some(b',') => continue,
                    Some(b']') => return Ok(Value::Array(items)),
                    _ => return Err(ParseError::Invalid),
                }
            }
        })
    }

    fn word(&mut self, w: &[u8], v: Value) -> Result<Value, ParseError> {
        for &c in w {
            self.expect(c)?;
        }
        Ok(v)
    }

    fn hex4(&mut self) -> Result<u32, ParseError> {
        let mut n = 0;
        for _ in 0..4 {
            let d = (self.bump().ok_or(ParseError::Invalid)? as char)
                .to_digit(16)
                .ok_or(ParseError::Invalid)?;
            n = n * 16 + d;
        }
        Ok(n)
    }

    fn string(&mut self) -> Result<String, ParseError> {
        self.expect(b'"')?;
        let mut out = Vec::new();
        loop {
            match self.bump().ok_or(ParseError::Invalid)? {
                b'"' => break,
                b'\\' => {
                    let c = match self.bump().ok_or(ParseError::Invalid)? {
                        b'"' => '"',
                        b'\\' => '\\',
                        b'/' => '/',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        b'u' => {
                            let hi = self.hex4()?;
                            let code = if (0xd800..0xdc00).contains(&hi) {
                                self.expect(b'\\')?;
                                self.expect(b'u')?;
                                let lo = self.hex4()?;
                                if !(0xdc00..0xe000).contains(&lo) {
                                    return Err(ParseError::Invalid);
                                }
                                0x10000 + ((hi - 0xd800) << 10) + (lo - 0xdc00)
                            } else {
                                hi
                            };
                            char::from_u32(code)
                                .filter(|&c| c != '\0')
                                .ok_or(ParseError::Invalid)?
                        }
                        _ => return Err(ParseError::Invalid),
                    };
                    let mut buf = [0; 4];
                    out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                }
                c if c < 0x20 => return Err(ParseError::Invalid),
                c => out.push(c),
            }
        }
        String::from_utf8(out).map_err(|_| ParseError::Invalid)
    }

    fn number(&mut self) -> Result<Value, ParseError> {
        let start = self.i;
        if self.peek() == Some(b'-') {
            self.bump();
        }
        let digits = |p: &mut Self| {
            let from = p.i;
            while matches!(p.peek(), Some(b'0'..=b'9')) {
                p.bump();
            }
            p.i - from
        };
        if digits(self) == 0 {
            return Err(ParseError::Invalid);
        }
        let mut real = false;
        if self.peek() == Some(b'.') {
            self.bump();
            real = true;
            if digits(self) == 0 {
                return Err(ParseError::Invalid);
            }
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.bump();
            real = true;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.bump();
            }
            if digits(self) == 0 {
                return Err(ParseError::Invalid);
            }
        }
        let text = std::str::from_utf8(&self.s[start..self.i]).map_err(|_| ParseError::Invalid)?;
        if !real {
            if let Ok(u) = text.parse::<u64>() {
                return Ok(Value::Unsigned(u));
            }
            if let Ok(i) = text.parse::<i64>() {
                return Ok(Value::Integer(i));
            }
        }
        text.parse::<f64>()
            .map(Value::Real)
            .map_err(|_| ParseError::Invalid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_and_types() {
        let v = parse(b"{\n  \"pcrBank\": 5, \"x\": [-1, 2.5, \"\\u00e9\"]}").unwrap();
        assert_eq!(v.pos, Pos { line: 1, column: 1 });
        let b = v.value.get("pcrBank").unwrap();
        assert_eq!(
            b.pos,
            Pos {
                line: 2,
                column: 14
            }
        );
        assert_eq!(b.value.type_name(), "unsigned");
        let Value::Array(x) = &v.value.get("x").unwrap().value else {
            panic!()
        };
        assert_eq!(x[0].value.type_name(), "integer");
        assert_eq!(x[1].value.type_name(), "real");
        assert_eq!(x[2].value, Value::String("é".into()));
    }

    #[test]
    fn errors() {
        assert_eq!(parse(b" \n"), Err(ParseError::Empty));
        assert_eq!(parse(b"{} x"), Err(ParseError::Invalid));
        assert_eq!(parse(b"{\"pcrBank\":"), Err(ParseError::Invalid));
        assert_eq!(parse(b"[1,]"), Err(ParseError::Invalid));
    }
}
