//! The one line an error prints as: the error and its causes joined by ": ", as anyhow's `{:#}` does, except that a
//! cause already quoted by the messages before it is not repeated. Library errors keep their source (for callers that
//! walk the chain) and also quote it in their own message (for callers that only print `to_string()`), so a plain
//! `{:#}` would print it twice.

pub fn error_line(error: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in error.chain() {
        let text = cause.to_string();
        if line.contains(&text) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&text);
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A library error as plec writes them: its message quotes its source.
    #[derive(Debug)]
    struct Quoting {
        source: std::io::Error,
    }

    impl std::fmt::Display for Quoting {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "data.csv: {}", self.source)
        }
    }

    impl std::error::Error for Quoting {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.source)
        }
    }

    #[test]
    fn causes_are_joined_once_each() {
        let io = || std::io::Error::new(std::io::ErrorKind::NotFound, "no such file");
        let quoted = anyhow::Error::new(Quoting { source: io() }).context("reading the data");
        assert_eq!(error_line(&quoted), "reading the data: data.csv: no such file");
        let plain = anyhow::Error::new(io()).context("reading the data");
        assert_eq!(error_line(&plain), "reading the data: no such file");
    }
}
