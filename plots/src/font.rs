//! The embedded font: DejaVu Sans, shipped in `assets/fonts/` with its
//! license (`LICENSE-DejaVu.txt`), compiled into the binary and registered
//! with plotters' pure-Rust `ab_glyph` text renderer. No system font is ever
//! looked up, so PNGs come out the same on every machine.

use std::sync::OnceLock;

use plotters::style::{register_font, FontFamily, FontStyle};

use crate::PlotError;

/// The font file, DejaVu Sans (Book).
pub(crate) static DEJAVU_SANS: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");

/// The family name text is drawn with.
///
/// plotters looks fonts up by this name, and the SVG backend writes it
/// verbatim into `font-family`. Registering the font under a CSS font list
/// makes SVG viewers use DejaVu Sans (whose metrics the layout was computed
/// with) when installed, and any sans-serif font otherwise, rather than
/// their default serif font. It also keeps us clear of whatever other code
/// in the process registers as plain "sans-serif".
const FAMILY_NAME: &str = "DejaVu Sans, sans-serif";

/// The font family for every text style of this crate.
pub(crate) const FAMILY: FontFamily<'static> = FontFamily::Name(FAMILY_NAME);

/// Registers the embedded font, once per process; later calls only return
/// the first outcome. Registration can only fail if the embedded file is
/// not a font, which is a build problem, but it is reported rather than
/// panicking.
pub(crate) fn ensure_registered() -> Result<(), PlotError> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok = *REGISTERED
        .get_or_init(|| register_font(FAMILY_NAME, FontStyle::Normal, DEJAVU_SANS).is_ok());
    if ok {
        Ok(())
    } else {
        Err(PlotError::Font)
    }
}
