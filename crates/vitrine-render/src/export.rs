//! The one error type of PNG and PDF exports.

/// An export that could not be produced. Its `Display` is a polite sentence that names no
/// internal detail, so a handler may show it to anyone; [`ExportError::detail`] is for logs.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// The SVG did not parse (a bug: our renderer's SVG always should).
    #[error("This widget could not be drawn for download.")]
    Svg(String),
    /// The drawing is too large to rasterise, or empty.
    #[error("This widget is too large to download as an image.")]
    TooLarge,
    /// The PNG encoder failed.
    #[error("The image could not be produced.")]
    Png(String),
    /// krilla failed to write the PDF.
    #[error("The PDF could not be produced.")]
    Pdf(String),
}

impl ExportError {
    /// The cause, for logs only.
    pub fn detail(&self) -> String {
        match self {
            ExportError::Svg(d) | ExportError::Png(d) | ExportError::Pdf(d) => d.clone(),
            ExportError::TooLarge => "raster size out of bounds".to_owned(),
        }
    }
}
