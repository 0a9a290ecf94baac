//! Colours and the default colour-blind-safe palette.

use std::fmt;
use std::str::FromStr;

use crate::PlotError;

/// An opaque sRGB colour.
///
/// Parse one from `"#RRGGBB"` with [`str::parse`]; [`Display`](fmt::Display)
/// writes the same form back.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Color {
    /// Red, 0–255.
    pub r: u8,
    /// Green, 0–255.
    pub g: u8,
    /// Blue, 0–255.
    pub b: u8,
}

impl Color {
    /// A colour from its red, green and blue components.
    pub const fn rgb(r: u8, g: u8, b: u8) -> Self {
        Self { r, g, b }
    }
}

impl fmt::Display for Color {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{:02X}{:02X}{:02X}", self.r, self.g, self.b)
    }
}

impl FromStr for Color {
    type Err = PlotError;

    /// Parses `#RRGGBB` (hex digits in either case).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let invalid = || PlotError::InvalidColor(s.to_string());
        let hex = s.strip_prefix('#').ok_or_else(invalid)?;
        if hex.len() != 6 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(invalid());
        }
        let channel = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).map_err(|_| invalid());
        Ok(Self::rgb(channel(0)?, channel(2)?, channel(4)?))
    }
}

/// The eight colours of Okabe & Ito's palette ("Color Universal Design",
/// 2008), distinguishable with the common forms of colour blindness.
pub mod okabe_ito {
    use super::Color;

    /// Black, `#000000`.
    pub const BLACK: Color = Color::rgb(0x00, 0x00, 0x00);
    /// Orange, `#E69F00`.
    pub const ORANGE: Color = Color::rgb(0xE6, 0x9F, 0x00);
    /// Sky blue, `#56B4E9`.
    pub const SKY_BLUE: Color = Color::rgb(0x56, 0xB4, 0xE9);
    /// Bluish green, `#009E73`.
    pub const BLUISH_GREEN: Color = Color::rgb(0x00, 0x9E, 0x73);
    /// Yellow, `#F0E442`.
    pub const YELLOW: Color = Color::rgb(0xF0, 0xE4, 0x42);
    /// Blue, `#0072B2`.
    pub const BLUE: Color = Color::rgb(0x00, 0x72, 0xB2);
    /// Vermillion, `#D55E00`.
    pub const VERMILLION: Color = Color::rgb(0xD5, 0x5E, 0x00);
    /// Reddish purple, `#CC79A7`.
    pub const REDDISH_PURPLE: Color = Color::rgb(0xCC, 0x79, 0xA7);
}

/// The default colours, in the order series (and timeline states) take them:
/// the Okabe–Ito palette, reordered so that the first colours have the most
/// contrast on white and with each other. Yellow and black come last: yellow
/// is faint as a thin line, and black is kept for text and hand-offs.
///
/// Series or states beyond the eighth wrap around to the first colour.
pub const PALETTE: [Color; 8] = [
    okabe_ito::BLUE,
    okabe_ito::ORANGE,
    okabe_ito::BLUISH_GREEN,
    okabe_ito::VERMILLION,
    okabe_ito::REDDISH_PURPLE,
    okabe_ito::SKY_BLUE,
    okabe_ito::YELLOW,
    okabe_ito::BLACK,
];

/// The colour for item `index` when the caller gave none.
pub(crate) fn pick(explicit: Option<Color>, index: usize) -> Color {
    explicit.unwrap_or(PALETTE[index % PALETTE.len()])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trips() {
        let c: Color = "#e69f00".parse().unwrap();
        assert_eq!(c, okabe_ito::ORANGE);
        assert_eq!(c.to_string(), "#E69F00");
    }

    #[test]
    fn malformed_hex_is_rejected() {
        for bad in [
            "", "E69F00", "#E69F0", "#E69F000", "#G69F00", "#+69F00", "#é9F00",
        ] {
            assert_eq!(
                bad.parse::<Color>(),
                Err(PlotError::InvalidColor(bad.to_string()))
            );
        }
    }

    #[test]
    fn palette_wraps() {
        assert_eq!(pick(None, 8), PALETTE[0]);
        assert_eq!(pick(Some(okabe_ito::BLACK), 0), okabe_ito::BLACK);
    }
}
