//! The fields plec needs before it can make sense of a config, reported with their full paths and the reason.
//!
//! TorchEasyRec parses configs with Python's text-format parser, which does not enforce proto2 `required`: a
//! missing field reads as its default, and TorchEasyRec fails later on some (an empty label column) and never on
//! others (`expression` under `fg_mode: FG_NONE`, `network_name`). So plec does not enforce the schema's
//! `required` marks either. It demands exactly the fields below, each for a reason it states; requirements that
//! depend on other fields (`expression` under FG_DAG, `task_expert_net` when there are task experts, a positive
//! `embedding_dim`) are checked by validation, where that context is known. `docs/config.md` lists both.

use protobuf::reflect::{MessageDescriptor, ReflectFieldRef, ReflectValueRef};
use protobuf::MessageDyn;

use crate::diagnostics::Diagnostic;

/// (message, field, why plec needs it).
pub const REQUIRED: &[(&str, &str, &str)] = &[
    ("IdFeature", "feature_name", "it names the feature's input column, its default table and its place in groups"),
    ("RawFeature", "feature_name", "it names the feature's input column, its default table and its place in groups"),
    ("ExtractionNetwork", "network_name", "plec names the layer's parameters after it (`ple.<network_name>.*`)"),
    ("TaskTower", "tower_name", "it names the task's outputs (`probs_<tower_name>`) and parameters"),
    ("TaskTower", "label_name", "it names the label column the task trains on"),
    ("BayesTaskTower", "tower_name", "it names the task's outputs (`probs_<tower_name>`), parameters and relations"),
    ("BayesTaskTower", "label_name", "it names the label column the task trains on"),
    ("GroupedAUC", "grouping_key", "it names the column whose groups the metric averages over"),
    ("JRCLoss", "session_name", "it names the id feature whose ids form the loss's sessions"),
];

pub fn missing_required(message: &dyn MessageDyn, descriptor: &MessageDescriptor) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    walk(message, descriptor, "", &mut out);
    out
}

fn walk(message: &dyn MessageDyn, descriptor: &MessageDescriptor, path: &str, out: &mut Vec<Diagnostic>) {
    for field in descriptor.fields() {
        let field_path = if path.is_empty() { field.name().to_string() } else { format!("{path}.{}", field.name()) };
        match field.get_reflect(message) {
            ReflectFieldRef::Optional(value) => match value.value() {
                None => {
                    let required = REQUIRED.iter().find(|(m, f, _)| *m == descriptor.name() && *f == field.name());
                    if let Some((_, _, why)) = required {
                        out.push(Diagnostic::new(
                            field_path,
                            format!("missing field `{}` of {}: {why}", field.name(), descriptor.name()),
                        ));
                    }
                }
                Some(ReflectValueRef::Message(sub)) => walk(&*sub, &sub.descriptor_dyn(), &field_path, out),
                _ => {}
            },
            ReflectFieldRef::Repeated(items) => {
                for i in 0..items.len() {
                    if let ReflectValueRef::Message(sub) = items.get(i) {
                        walk(&*sub, &sub.descriptor_dyn(), &format!("{field_path}[{i}]"), out);
                    }
                }
            }
            ReflectFieldRef::Map(_) => {}
        }
    }
}
