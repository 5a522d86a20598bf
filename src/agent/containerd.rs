//! A tolerant, line-based reader of containerd's `config.toml`: just enough TOML (tables, dotted
//! and quoted keys, strings, single- and multi-line string arrays, comments) to find the CRI
//! plugin's `default_runtime_name`, the declared runtimes and `imports`. Config versions 1–3 use
//! different plugin table names; any `...containerd` table under a plugin whose name contains
//! `cri` counts.

/// What one file says.
#[derive(Debug, Default, PartialEq)]
pub struct Parsed {
    /// `(value, line)` of the last `default_runtime_name` under a CRI `containerd` table.
    pub default_runtime_name: Option<(String, usize)>,
    pub runtimes: Vec<String>,
    pub imports: Vec<String>,
}

/// Splits a dotted key (`plugins."io.containerd.grpc.v1.cri".containerd`) into its segments.
fn split_key(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    for c in s.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => cur.push(c),
            (None, '"' | '\'') => quote = Some(c),
            (None, '.') => out.push(std::mem::take(&mut cur).trim().to_string()),
            (None, c) => cur.push(c),
        }
    }
    out.push(cur.trim().to_string());
    out
}

/// Removes a `#` comment that is not inside a string.
fn strip_comment(line: &str) -> &str {
    let mut quote: Option<char> = None;
    for (i, c) in line.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (None, '"' | '\'') => quote = Some(c),
            (None, '#') => return &line[..i],
            _ => {}
        }
    }
    line
}

fn unquote(v: &str) -> String {
    let v = v.trim();
    for q in ['"', '\''] {
        if let Some(inner) = v.strip_prefix(q).and_then(|r| r.strip_suffix(q)) {
            return inner.to_string();
        }
    }
    v.to_string()
}

fn string_array(v: &str) -> Vec<String> {
    v.trim()
        .trim_start_matches('[')
        .trim_end_matches(']')
        .split(',')
        .map(unquote)
        .filter(|s| !s.is_empty())
        .collect()
}

fn is_cri_containerd(path: &[String]) -> bool {
    path.last().is_some_and(|l| l == "containerd") && path.iter().any(|s| s.contains("cri"))
}

pub fn parse(text: &str) -> Parsed {
    let mut out = Parsed::default();
    let mut table: Vec<String> = Vec::new();
    let mut pending: Option<(Vec<String>, String)> = None;
    for (i, raw) in text.lines().enumerate() {
        let line = strip_comment(raw).trim();
        if let Some((key, buf)) = &mut pending {
            buf.push_str(line);
            if line.contains(']') {
                if key.len() == 1 && key[0] == "imports" && table.is_empty() {
                    out.imports.extend(string_array(buf));
                }
                pending = None;
            }
            continue;
        }
        if line.is_empty() {
            continue;
        }
        if let Some(h) = line.strip_prefix('[') {
            let h = h.trim_start_matches('[');
            let end = h.rfind(']').unwrap_or(h.len());
            table = split_key(h[..end].trim_end_matches(']'));
            note_runtime(&table, &mut out.runtimes);
            continue;
        }
        let Some((k, v)) = line.split_once('=') else {
            continue;
        };
        let key = split_key(k.trim());
        let v = v.trim();
        if v.starts_with('[') && !v.contains(']') {
            pending = Some((key, v.to_string()));
            continue;
        }
        if table.is_empty() && key.len() == 1 && key[0] == "imports" {
            out.imports.extend(string_array(v));
            continue;
        }
        let mut path = table.clone();
        path.extend(key);
        note_runtime(&path, &mut out.runtimes);
        if path.last().is_some_and(|l| l == "default_runtime_name")
            && is_cri_containerd(&path[..path.len() - 1])
        {
            out.default_runtime_name = Some((unquote(v), i + 1));
        }
    }
    out
}

fn note_runtime(path: &[String], runtimes: &mut Vec<String>) {
    if let Some(pos) = path
        .windows(2)
        .position(|w| w[0] == "containerd" && w[1] == "runtimes")
        && let Some(name) = path.get(pos + 2)
        && !runtimes.contains(name)
    {
        runtimes.push(name.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version2_nvidia_default() {
        let p = parse(
            r#"version = 2
imports = ["/etc/containerd/conf.d/*.toml"]

[plugins]
  [plugins."io.containerd.grpc.v1.cri"]
    [plugins."io.containerd.grpc.v1.cri".containerd]
      default_runtime_name = "nvidia"   # set by the GPU operator
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.nvidia]
        runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
        runtime_type = "io.containerd.runc.v2"
"#,
        );
        assert_eq!(p.default_runtime_name, Some(("nvidia".into(), 7)));
        assert_eq!(p.runtimes, ["nvidia", "runc"]);
        assert_eq!(p.imports, ["/etc/containerd/conf.d/*.toml"]);
    }

    #[test]
    fn version3_and_v1_and_dotted_keys() {
        let p = parse(
            "version = 3\n[plugins.'io.containerd.cri.v1.runtime'.containerd]\n  default_runtime_name = 'runc'\n",
        );
        assert_eq!(p.default_runtime_name, Some(("runc".into(), 3)));
        let p = parse(
            "[plugins.cri.containerd]\ndefault_runtime_name = \"nvidia-container-runtime\"\n",
        );
        assert_eq!(
            p.default_runtime_name.unwrap().0,
            "nvidia-container-runtime"
        );
        let p = parse(
            "[plugins.\"io.containerd.grpc.v1.cri\"]\ncontainerd.default_runtime_name = \"nvidia\"\n",
        );
        assert_eq!(p.default_runtime_name.unwrap().0, "nvidia");
    }

    #[test]
    fn other_tables_and_multiline_imports() {
        let p = parse(
            "imports = [\n  \"/a/*.toml\",\n  \"/b.toml\",\n]\n[plugins.\"io.containerd.runtime.v1.linux\"]\ndefault_runtime_name = \"x\"\n",
        );
        assert_eq!(p.default_runtime_name, None);
        assert_eq!(p.imports, ["/a/*.toml", "/b.toml"]);
        assert_eq!(parse("garbage [[[ = =\n"), Parsed::default());
    }
}
