//! `akkoord eval` on a SOAP closed question: loads the consent catalogue and a consent data file
//! (NDJSON of FHIR `Consent`, the format `akkoord gen` writes) into a consent index, compiles the
//! policies with the index as policy information point, and prints the SOAP answer — or the SOAP
//! fault the service would send, with its reason on stderr and exit status 1.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::sync::Arc;

use pdp_core::consent::catalogue::Catalogue;
use pdp_core::consent::fhir::parse_consent_line;
use pdp_core::consent::index::ConsentIndex;
use pdp_core::consent::question::ClosedQuestionService;
use pdp_core::protocol::soap::write_fault;
use pdp_core::xacml::request::RequestTime;
use pdp_core::xacml::xml::doc::XmlLimits;
use pdp_core::xacml::{CompileOptions, PolicySource};

/// What the CLI needs to answer one closed question.
pub struct ClosedQuestionInput<'a> {
    pub policies: &'a [(String, String)],
    pub question: &'a [u8],
    pub question_name: &'a str,
    pub catalogue: &'a Path,
    pub consents: Option<&'a Path>,
    pub limits: &'a XmlLimits,
    pub time: RequestTime,
}

/// The outcome: the SOAP document to print on stdout, and (for a fault) the message for stderr.
pub struct ClosedQuestionOutput {
    pub soap: String,
    pub fault: Option<String>,
}

/// Whether a document is a SOAP envelope (its root element is called `Envelope`).
pub fn is_soap_envelope(bytes: &[u8]) -> bool {
    let mut reader = quick_xml::Reader::from_reader(bytes);
    let mut buf = Vec::new();
    loop {
        match reader.read_event_into(&mut buf) {
            Ok(quick_xml::events::Event::Start(e)) | Ok(quick_xml::events::Event::Empty(e)) => {
                return e.local_name().as_ref() == b"Envelope";
            }
            Ok(quick_xml::events::Event::Eof) | Err(_) => return false,
            Ok(_) => {}
        }
        buf.clear();
    }
}

/// Loads the catalogue and consents, compiles, and answers the question.
pub fn answer(input: &ClosedQuestionInput<'_>) -> Result<ClosedQuestionOutput, Vec<String>> {
    let catalogue = load_catalogue(input.catalogue)?;
    let index = Arc::new(ConsentIndex::new(&catalogue));
    if let Some(path) = input.consents {
        load_consents(path, &catalogue, &index)?;
    }
    let sources: Vec<PolicySource<'_>> = input
        .policies
        .iter()
        .map(|(name, text)| PolicySource { name, text })
        .collect();
    let options = CompileOptions {
        xml_limits: *input.limits,
        ..CompileOptions::default()
    };
    // One question per run: learning its shape would be work for nothing.
    let service = ClosedQuestionService::new(&sources, &options, catalogue, index)
        .map_err(|errors| errors.iter().map(|e| e.to_string()).collect::<Vec<_>>())?
        .with_shape_capacity(0);
    let mut soap = String::with_capacity(4096);
    match service.answer(input.question, input.limits, input.time, &mut soap) {
        Ok(()) => Ok(ClosedQuestionOutput { soap, fault: None }),
        Err(fault) => {
            soap.clear();
            write_fault(&fault, &mut soap);
            Ok(ClosedQuestionOutput {
                soap,
                fault: Some(format!(
                    "{}: SOAP {} fault (HTTP {}): {}",
                    input.question_name,
                    fault.code.local_name(),
                    fault.http_status(),
                    fault.reason
                )),
            })
        }
    }
}

fn load_catalogue(path: &Path) -> Result<Arc<Catalogue>, Vec<String>> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        vec![format!(
            "akkoord: cannot read catalogue file {}: {e} (pass --catalogue FILE)",
            path.display()
        )]
    })?;
    Catalogue::from_json(&text)
        .map(Arc::new)
        .map_err(|e| vec![format!("{}: {e}", path.display())])
}

/// Reads NDJSON consents into the index; every bad line is reported with its number, and any
/// bad line fails the command (an offline evaluation on partial data would mislead).
fn load_consents(
    path: &Path,
    catalogue: &Catalogue,
    index: &ConsentIndex,
) -> Result<(), Vec<String>> {
    let file = std::fs::File::open(path).map_err(|e| {
        vec![format!(
            "akkoord: cannot read consent file {}: {e}",
            path.display()
        )]
    })?;
    let mut errors = Vec::new();
    for (n, line) in BufReader::new(file).lines().enumerate() {
        let line = match line {
            Ok(l) => l,
            Err(e) => {
                errors.push(format!(
                    "{}:{}: cannot read the line: {e}",
                    path.display(),
                    n + 1
                ));
                break;
            }
        };
        if line.trim().is_empty() {
            continue;
        }
        match parse_consent_line(&line, catalogue) {
            Ok(record) => {
                index.upsert(&record);
            }
            Err(e) => {
                errors.push(format!("{}:{}: {e}", path.display(), n + 1));
                if errors.len() >= 20 {
                    errors.push("akkoord: stopping after 20 bad lines".to_string());
                    break;
                }
            }
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}
