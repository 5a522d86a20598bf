//! `--format json`: the versioned report contract (docs/report-json.md).

use super::Report;
use std::io::Write;

pub fn render(report: &Report) -> anyhow::Result<String> {
    let mut s = serde_json::to_string_pretty(report)?;
    s.push('\n');
    Ok(s)
}

/// Same as [`render`], streamed.
pub fn render_to(report: &Report, w: &mut dyn std::io::Write) -> anyhow::Result<()> {
    let mut w = std::io::BufWriter::with_capacity(1 << 16, w);
    serde_json::to_writer_pretty(&mut w, report)?;
    w.write_all(b"\n")?;
    w.flush()?;
    Ok(())
}
