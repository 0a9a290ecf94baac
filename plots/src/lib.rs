//! Figures as data, rendered to SVG and PNG.
//!
//! A [`Figure`] is a plain description (title, axis labels, and a [`Chart`]:
//! lines, grouped bars, CDFs or a timeline); [`render_svg`] and
//! [`render_png`] turn it into an image in memory. This crate knows nothing
//! about what the numbers mean, only series, axes, labels and timelines.
//!
//! ```
//! use gilsim_plots::{render_png, render_svg, Figure, LineChart, LineSeries};
//!
//! let fig = Figure::new(
//!     "Throughput against batch size",
//!     "batch size (items)",
//!     "throughput (items/s)",
//!     LineChart::new(vec![
//!         LineSeries::new("baseline", vec![(1.0, 10.0), (10.0, 80.0), (100.0, 95.0)])
//!             .with_ci(vec![(9.0, 11.0), (70.0, 90.0), (90.0, 99.0)]),
//!     ])
//!     .with_log_axes(true, false),
//! );
//! let svg: String = render_svg(&fig)?;
//! let png: Vec<u8> = render_png(&fig)?;
//! assert!(svg.starts_with("<svg") && png.starts_with(b"\x89PNG"));
//! # Ok::<(), gilsim_plots::PlotError>(())
//! ```
//!
//! # Guarantees
//!
//! - **Deterministic**: the same figure gives byte-identical SVG and PNG,
//!   run after run. No clock, randomness, hash order or system font is
//!   involved, so other machines give the same bytes too, with one caveat:
//!   log axes use the platform's `log10`, whose last bit may differ between
//!   C libraries, which in rare cases could move an element by a pixel.
//! - **One font, shipped with the code**: text is laid out (and, in PNGs,
//!   rasterised) with DejaVu Sans compiled into the crate
//!   (`assets/fonts/DejaVuSans.ttf`, license in `LICENSE-DejaVu.txt`). SVGs
//!   name it as `font-family="DejaVu Sans, sans-serif"`, so viewers use it
//!   when installed and some sans-serif font otherwise.
//! - **Errors, not panics**: every figure is checked before drawing, and a
//!   problem comes back as a [`PlotError`] naming the series and value.
//!   Non-finite numbers (NaN, ±∞) anywhere are rejected, never skipped: a
//!   figure must not quietly show less than its data. So are values ≤ 0 on a
//!   logarithmic axis, mismatched lengths (a CI per point, a bar per
//!   category), reversed intervals, empty charts, and sizes outside
//!   [`Size::MIN`]..=[`Size::MAX`].
//! - **Readable**: colours come from the colour-blind-safe Okabe–Ito
//!   [`PALETTE`]; line series also differ by marker shape; the legend sits
//!   beside or below the chart, never over the data; axis ranges fit the
//!   data with a little padding, and a single point or all-equal values get
//!   a sensible range around them.

#![warn(missing_docs, unreachable_pub)]

mod axis;
mod color;
mod draw;
mod error;
mod font;
mod frame;
mod glyphs;
mod legend;
mod marker;
mod spec;
mod validate;

use plotters::prelude::*;

pub use color::{okabe_ito, Color, PALETTE};
pub use error::PlotError;
pub use spec::{
    BarChart, BarSeries, CdfChart, CdfSeries, Chart, Figure, Handoff, LineChart, LineSeries, Size,
    Span, State, TimelineChart, TimelineRow,
};

/// Renders `fig` as an SVG document.
pub fn render_svg(fig: &Figure) -> Result<String, PlotError> {
    let size = prepare(fig)?;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (size.width, size.height)).into_drawing_area();
        draw::figure(&root, fig)?;
        root.present().map_err(frame::draw_err)?;
    }
    Ok(svg)
}

/// Renders `fig` as the bytes of a PNG file (8-bit RGB, no metadata), ready
/// for the caller to write wherever it likes.
pub fn render_png(fig: &Figure) -> Result<Vec<u8>, PlotError> {
    let size = prepare(fig)?;
    let mut rgb = vec![0u8; size.width as usize * size.height as usize * 3];
    {
        let bitmap = BitMapBackend::with_buffer(&mut rgb, (size.width, size.height));
        let root = glyphs::GlyphBackend::new(bitmap)?.into_drawing_area();
        draw::figure(&root, fig)?;
        root.present().map_err(frame::draw_err)?;
    }
    encode_png(&rgb, size)
}

/// Validates the figure and loads the font; returns the image size.
fn prepare(fig: &Figure) -> Result<Size, PlotError> {
    validate::check(fig)?;
    font::ensure_registered()?;
    Ok(fig.pixel_size())
}

fn encode_png(rgb: &[u8], size: Size) -> Result<Vec<u8>, PlotError> {
    let png_err = |e: png::EncodingError| PlotError::Png(e.to_string());
    let mut bytes = Vec::new();
    let mut encoder = png::Encoder::new(&mut bytes, size.width, size.height);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().map_err(png_err)?;
    writer.write_image_data(rgb).map_err(png_err)?;
    writer.finish().map_err(png_err)?;
    Ok(bytes)
}
