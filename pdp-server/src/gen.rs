//! `akkoord gen`: writes a synthetic national consent data set as NDJSON of FHIR R4 `Consent`
//! (the bulk format the store imports; see the README and `pdp_core::consent::fhir`).
//!
//! The data set is a pure function of `--seed` and `--citizens` (see
//! `pdp_core::consent::generate` for the mix), streamed citizen by citizen, so 18 million
//! citizens (≈ 36 million lines, ≈ 30 GB) never sit in memory. Progress goes to stderr every
//! million lines; stdout carries only data.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::time::Instant;

use pdp_core::consent::catalogue::Catalogue;
use pdp_core::consent::fhir::write_consent_line;
use pdp_core::consent::generate::Generator;

/// Lines between progress reports on stderr.
const PROGRESS_EVERY: u64 = 1_000_000;

/// Runs `gen`; the error is the message to print.
pub fn run(
    citizens: u64,
    seed: u64,
    out: Option<&Path>,
    catalogue_path: &Path,
) -> Result<(), String> {
    let text = std::fs::read_to_string(catalogue_path).map_err(|e| {
        format!(
            "akkoord: cannot read catalogue file {}: {e} (pass --catalogue FILE)",
            catalogue_path.display()
        )
    })?;
    let catalogue =
        Catalogue::from_json(&text).map_err(|e| format!("{}: {e}", catalogue_path.display()))?;
    let generator =
        Generator::new(&catalogue, seed, citizens).map_err(|e| format!("akkoord gen: {e}"))?;

    let (sink, name): (Box<dyn Write>, String) = match out {
        Some(path) => (
            Box::new(File::create(path).map_err(|e| {
                format!("akkoord: cannot create output file {}: {e}", path.display())
            })?),
            path.display().to_string(),
        ),
        None => (Box::new(std::io::stdout().lock()), "stdout".to_string()),
    };
    let mut sink = BufWriter::with_capacity(1 << 20, sink);
    let write_error = |e: std::io::Error| format!("akkoord: cannot write to {name}: {e}");

    let started = Instant::now();
    let mut line = String::with_capacity(2048);
    let mut lines = 0u64;
    let mut stderr = std::io::stderr();
    for record in generator.records() {
        line.clear();
        write_consent_line(&record, &catalogue, &mut line)
            .map_err(|e| format!("akkoord gen: cannot write a generated record: {e}"))?;
        sink.write_all(line.as_bytes()).map_err(write_error)?;
        lines += 1;
        if lines.is_multiple_of(PROGRESS_EVERY) {
            let secs = started.elapsed().as_secs_f64();
            let _ = writeln!(
                stderr,
                "akkoord gen: {lines} lines ({:.0} lines/s)",
                lines as f64 / secs.max(1e-9)
            );
        }
    }
    sink.flush().map_err(write_error)?;
    if citizens >= PROGRESS_EVERY {
        let _ = writeln!(
            stderr,
            "akkoord gen: done, {citizens} citizens, {lines} lines in {:.1} s",
            started.elapsed().as_secs_f64()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use pdp_core::consent::fhir::parse_consent_line;

    fn catalogue_path() -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../policies/mitz-catalogue.json")
    }

    #[test]
    fn gen_output_parses_back_to_the_generated_records() {
        let dir = std::env::temp_dir().join(format!("akkoord-gen-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let (a, b) = (dir.join("a.ndjson"), dir.join("b.ndjson"));
        run(2_000, 9, Some(&a), &catalogue_path()).expect("gen a");
        run(2_000, 9, Some(&b), &catalogue_path()).expect("gen b");
        let text = std::fs::read_to_string(&a).expect("read a");
        assert_eq!(
            text,
            std::fs::read_to_string(&b).expect("read b"),
            "same seed, same file"
        );

        let catalogue =
            Catalogue::from_json(&std::fs::read_to_string(catalogue_path()).expect("catalogue"))
                .expect("catalogue loads");
        let generator = Generator::new(&catalogue, 9, 2_000).expect("generator");
        let mut lines = 0;
        for (line, expected) in text.lines().zip(generator.records()) {
            let parsed = parse_consent_line(line, &catalogue).expect("every line parses");
            assert_eq!(parsed, expected);
            lines += 1;
        }
        assert_eq!(lines, generator.records().count());
        assert_eq!(lines, text.lines().count());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn missing_catalogue_is_reported_with_the_option_to_fix_it() {
        let e = run(1, 1, None, Path::new("/nonexistent/catalogue.json")).expect_err("no file");
        assert!(e.contains("--catalogue"), "{e}");
    }
}
