//! Text rasterisation for PNG output.
//!
//! plotters' `ab_glyph` text renderer drops each glyph's left side bearing
//! and rounds the pen position down glyph by glyph, so letters drift apart
//! unevenly ("T ail"). [`GlyphBackend`] wraps a bitmap backend, draws text
//! itself with ab_glyph's exact sub-pixel glyph positions and kerning, at
//! the size the SVG backend writes into `font-size`, and passes every other
//! drawing call straight through. plotters' layout estimates (used to
//! reserve room for labels) are a little wider than the text drawn, in both
//! PNG and SVG, so labels always fit.

use ab_glyph::{point, Font, FontRef, PxScale, ScaleFont};
use plotters_backend::text_anchor::{HPos, VPos};
use plotters_backend::{
    BackendColor, BackendCoord, BackendStyle, BackendTextStyle, DrawingBackend, DrawingErrorKind,
};

use crate::{font, PlotError};

/// A drawing backend that renders text properly and delegates the rest.
pub(crate) struct GlyphBackend<'f, B> {
    inner: B,
    face: FontRef<'f>,
}

impl<B: DrawingBackend> GlyphBackend<'static, B> {
    /// Wraps `inner`; text is drawn in the embedded font.
    pub(crate) fn new(inner: B) -> Result<Self, PlotError> {
        let face = FontRef::try_from_slice(font::DEJAVU_SANS).map_err(|_| PlotError::Font)?;
        Ok(Self { inner, face })
    }
}

/// One pixel of a glyph: position and coverage (0–1).
type Coverage = (i32, i32, f32);

impl<B: DrawingBackend> GlyphBackend<'_, B> {
    /// The scale at which the font's em is `em` pixels. (ab_glyph scales
    /// by ascent-to-descent height, which for DejaVu is 1.164 em.)
    fn scale_for_em(&self, em: f32) -> PxScale {
        let height = self.face.ascent_unscaled() - self.face.descent_unscaled();
        let units_per_em = self.face.units_per_em().unwrap_or(height);
        PxScale::from(em * height / units_per_em)
    }

    /// The pixels of `text` set with an em of `em` pixels, in a frame whose
    /// origin is the left end of a box of height `em` with the cap height
    /// centred in it (so centred labels look centred); and the text's width.
    fn rasterise(&self, text: &str, em: f32) -> (Vec<Coverage>, f32) {
        let scale = self.scale_for_em(em);
        let scaled = self.face.as_scaled(scale);
        let cap_height = self
            .face
            .outline_glyph(self.face.glyph_id('H').with_scale(scale))
            .map_or(em * 0.73, |g| g.px_bounds().height());
        let baseline = (em + cap_height) / 2.0;

        let mut pixels = Vec::new();
        let mut caret = 0.0f32;
        let mut previous = None;
        for c in text.chars() {
            let id = self.face.glyph_id(c);
            if let Some(p) = previous {
                caret += scaled.kern(p, id);
            }
            let glyph = id.with_scale_and_position(scale, point(caret, baseline));
            if let Some(outline) = self.face.outline_glyph(glyph) {
                let bounds = outline.px_bounds();
                let (x0, y0) = (bounds.min.x as i32, bounds.min.y as i32);
                outline
                    .draw(|x, y, coverage| pixels.push((x0 + x as i32, y0 + y as i32, coverage)));
            }
            caret += scaled.h_advance(id);
            previous = Some(id);
        }
        (pixels, caret)
    }
}

impl<B: DrawingBackend> DrawingBackend for GlyphBackend<'_, B> {
    type ErrorType = B::ErrorType;

    /// Text is set like the SVG backend sets it, so PNG and SVG match: an
    /// em of `size / 1.24` pixels (plotters' convention), anchored on the
    /// width actually drawn. Rotation mirrors plotters' default `draw_text`.
    fn draw_text<S: BackendTextStyle>(
        &mut self,
        text: &str,
        style: &S,
        pos: BackendCoord,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        let color = style.color();
        if color.alpha == 0.0 {
            return Ok(());
        }
        let em = (style.size() / 1.24) as f32;
        let (pixels, width) = self.rasterise(text, em);
        let dx = match style.anchor().h_pos {
            HPos::Left => 0.0,
            HPos::Right => -width,
            HPos::Center => -width / 2.0,
        };
        let dy = match style.anchor().v_pos {
            VPos::Top => 0.0,
            VPos::Center => -em / 2.0,
            VPos::Bottom => -em,
        };
        let (dx, dy) = (dx.round() as i32, dy.round() as i32);
        let transform = style.transform();
        let (w, h) = self.inner.get_size();
        for (x, y, coverage) in pixels {
            let (x, y) = transform.transform(x + dx, y + dy);
            let (x, y) = (pos.0 + x, pos.1 + y);
            if coverage > 0.0 && (0..w as i32).contains(&x) && (0..h as i32).contains(&y) {
                let alpha = color.alpha * f64::from(coverage.min(1.0));
                self.inner.draw_pixel(
                    (x, y),
                    BackendColor {
                        alpha,
                        rgb: color.rgb,
                    },
                )?;
            }
        }
        Ok(())
    }

    // Everything else goes straight to the wrapped backend, so its fast
    // paths (rectangles, lines) are kept.

    fn get_size(&self) -> (u32, u32) {
        self.inner.get_size()
    }

    fn ensure_prepared(&mut self) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.ensure_prepared()
    }

    fn present(&mut self) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.present()
    }

    fn draw_pixel(
        &mut self,
        point: BackendCoord,
        color: BackendColor,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.draw_pixel(point, color)
    }

    fn draw_line<S: BackendStyle>(
        &mut self,
        from: BackendCoord,
        to: BackendCoord,
        style: &S,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.draw_line(from, to, style)
    }

    fn draw_rect<S: BackendStyle>(
        &mut self,
        upper_left: BackendCoord,
        bottom_right: BackendCoord,
        style: &S,
        fill: bool,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.draw_rect(upper_left, bottom_right, style, fill)
    }

    fn draw_path<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        path: I,
        style: &S,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.draw_path(path, style)
    }

    fn draw_circle<S: BackendStyle>(
        &mut self,
        center: BackendCoord,
        radius: u32,
        style: &S,
        fill: bool,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.draw_circle(center, radius, style, fill)
    }

    fn fill_polygon<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        vert: I,
        style: &S,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.fill_polygon(vert, style)
    }

    fn estimate_text_size<S: BackendTextStyle>(
        &self,
        text: &str,
        style: &S,
    ) -> Result<(u32, u32), DrawingErrorKind<Self::ErrorType>> {
        self.inner.estimate_text_size(text, style)
    }

    fn blit_bitmap(
        &mut self,
        pos: BackendCoord,
        size: (u32, u32),
        src: &[u8],
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.blit_bitmap(pos, size, src)
    }
}
