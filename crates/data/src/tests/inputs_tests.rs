use super::fixtures::TestDir;
use crate::resolve_inputs;

#[test]
fn resolves_files_lists_globs_and_folders() {
    let dir = TestDir::new("data-inputs");
    for name in ["b.csv", "a.csv", "c.parquet", "_SUCCESS", ".hidden"] {
        dir.write(name, "x\n1\n");
    }
    let root = dir.display().to_string();
    let names = |spec: &str| -> Vec<String> {
        resolve_inputs(spec)
            .unwrap()
            .iter()
            .map(|p| p.strip_prefix(dir.path()).unwrap().display().to_string())
            .collect()
    };
    assert_eq!(names(&format!("{root}/b.csv")), ["b.csv"]);
    // Comma lists keep their order; globs are sorted.
    assert_eq!(names(&format!("{root}/c.parquet, {root}/*.csv")), ["c.parquet", "a.csv", "b.csv"]);
    assert_eq!(names(&format!("{root}/?.csv")), ["a.csv", "b.csv"]);
    // A folder gives its files, sorted, without hidden and marker files.
    assert_eq!(names(&root), ["a.csv", "b.csv", "c.parquet"]);
}

#[test]
fn errors_name_the_pattern() {
    let dir = TestDir::new("data-inputs-errors");
    dir.write("a.csv", "x\n1\n");
    let root = dir.display().to_string();
    let messages: Vec<String> = [
        format!("{root}/*.parquet"),
        format!("{root}/a.csv,{root}/missing.csv"),
        String::new(),
        "odps://project/tables/t".to_string(),
        "[.csv".to_string(),
    ]
    .iter()
    .map(|spec| dir.scrub(&resolve_inputs(spec).unwrap_err().to_string()))
    .collect();
    insta::assert_snapshot!("input_errors", messages.join("\n"));
}
