//! The shape of the crate, held by a test: no module depends on one that depends on it, no file
//! has more than 700 lines of code (comments, blank lines and its `tests` module not counted),
//! no function outside tests is longer than a screen (85 lines, signature to closing brace).
//!
//! A module depends on another when its code (not its tests) names something there: through
//! `crate::…`, `super::…` or a child module's name. A name re-exported by a parent (`pub use
//! child::Name`, `pub use child::*`) counts as the child's, where it is defined; declaring a
//! child (`mod child;`) is not a dependency.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const MAX_FILE_LINES: usize = 700;
const MAX_FUNCTION_LINES: usize = 85;

/// One source file: its module path (`["reconcile", "judge"]`) and its code without tests.
struct Module {
    file: PathBuf,
    path: Vec<String>,
    code: String,
}

fn modules() -> Vec<Module> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    collect(&src, &mut files);
    files
        .into_iter()
        .filter(|file| file.file_name().is_some_and(|n| n != "main.rs"))
        .map(|file| {
            let relative = file.strip_prefix(&src).unwrap().with_extension("");
            let mut path: Vec<String> = relative
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            if matches!(path.last().map(String::as_str), Some("mod" | "lib")) {
                path.pop();
            }
            let text = std::fs::read_to_string(&file).unwrap();
            Module {
                file,
                path,
                code: without_tests(&text),
            }
        })
        .collect()
}

fn collect(dir: &Path, files: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            collect(&path, files);
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
}

/// The file up to its `#[cfg(test)] mod tests` (or any other test-only module).
fn without_tests(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let end = (0..lines.len())
        .find(|&i| {
            lines[i].trim() == "#[cfg(test)]"
                && lines
                    .get(i + 1)
                    .is_some_and(|next| next.starts_with("mod ") && next.trim_end().ends_with('{'))
        })
        .unwrap_or(lines.len());
    lines[..end].join("\n")
}

/// The code with comments and the contents of string and char literals blanked (lines kept).
fn blank_literals(code: &str) -> String {
    let chars: Vec<char> = code.chars().collect();
    let mut out = String::with_capacity(code.len());
    let mut i = 0;
    let keep_newlines = |out: &mut String, text: &[char]| {
        for c in text {
            out.push(if *c == '\n' { '\n' } else { ' ' });
        }
    };
    while i < chars.len() {
        let rest = &chars[i..];
        let starts = |s: &str| rest.iter().take(s.len()).copied().eq(s.chars());
        let end = if starts("//") {
            rest.iter().position(|c| *c == '\n').unwrap_or(rest.len())
        } else if starts("/*") {
            (2..rest.len())
                .find(|&j| rest[j - 1] == '*' && rest[j] == '/')
                .map_or(rest.len(), |j| j + 1)
        } else if starts("r#\"") || starts("r\"") || starts("br\"") || starts("br#\"") {
            let open = rest.iter().position(|c| *c == '"').unwrap();
            let hashes = rest[..open].iter().filter(|c| **c == '#').count();
            let close: String = std::iter::once('"')
                .chain("#".repeat(hashes).chars())
                .collect();
            let close: Vec<char> = close.chars().collect();
            (open + 1..rest.len())
                .find(|&j| rest[j..].starts_with(&close))
                .map_or(rest.len(), |j| j + close.len())
        } else if rest[0] == '"' {
            let mut j = 1;
            while j < rest.len() && rest[j] != '"' {
                j += if rest[j] == '\\' { 2 } else { 1 };
            }
            (j + 1).min(rest.len())
        } else if rest[0] == '\'' && rest.len() > 2 && (rest[1] == '\\' || rest[2] == '\'') {
            // A char literal ('x', '\n', '\u{..}'); a lifetime ('a) has no closing quote.
            let mut j = 2;
            while j < rest.len() && rest[j] != '\'' {
                j += 1;
            }
            (j + 1).min(rest.len())
        } else {
            0
        };
        if end > 0 {
            keep_newlines(&mut out, &rest[..end]);
            i += end;
        } else {
            out.push(rest[0]);
            i += 1;
        }
    }
    out
}

/// Every path the code names, as segments (`use` groups expanded; `as` renames dropped).
fn paths(code: &str) -> Vec<Vec<String>> {
    let mut found = Vec::new();
    let tokens = tokens(code);
    let mut i = 0;
    while i < tokens.len() {
        if tokens[i] == "use" {
            let end = (i..tokens.len())
                .find(|&j| tokens[j] == ";")
                .unwrap_or(tokens.len());
            expand(&tokens[i + 1..end], Vec::new(), &mut found);
            i = end;
        } else if is_ident(&tokens[i]) && tokens.get(i + 1).is_some_and(|t| t == "::") {
            let mut path = vec![tokens[i].clone()];
            let mut j = i + 1;
            while tokens.get(j).is_some_and(|t| t == "::")
                && tokens.get(j + 1).is_some_and(|t| is_ident(t))
            {
                path.push(tokens[j + 1].clone());
                j += 2;
            }
            if i == 0 || tokens[i - 1] != "::" {
                found.push(path);
            }
            i = j;
            continue;
        }
        i += 1;
    }
    found
}

fn is_ident(token: &str) -> bool {
    token
        .chars()
        .next()
        .is_some_and(|c| c.is_alphabetic() || c == '_')
}

fn tokens(code: &str) -> Vec<String> {
    let mut tokens = Vec::new();
    let chars: Vec<char> = code.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_alphanumeric() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            tokens.push(chars[start..i].iter().collect());
        } else if c == ':' && chars.get(i + 1) == Some(&':') {
            tokens.push("::".into());
            i += 2;
        } else {
            if !c.is_whitespace() {
                tokens.push(c.to_string());
            }
            i += 1;
        }
    }
    tokens
}

/// `a::{b, c::{d, e}}` → `a::b`, `a::c::d`, `a::c::e`.
fn expand(tokens: &[String], prefix: Vec<String>, found: &mut Vec<Vec<String>>) {
    let mut path = prefix.clone();
    let mut i = 0;
    while i < tokens.len() {
        match tokens[i].as_str() {
            "::" => {}
            "{" => {
                let mut depth = 0;
                let mut start = i + 1;
                for j in i..tokens.len() {
                    match tokens[j].as_str() {
                        "{" => depth += 1,
                        "}" => {
                            depth -= 1;
                            if depth == 0 {
                                expand(&tokens[start..j], path.clone(), found);
                                return;
                            }
                        }
                        "," if depth == 1 => {
                            expand(&tokens[start..j], path.clone(), found);
                            start = j + 1;
                        }
                        _ => {}
                    }
                }
                return;
            }
            "as" => break,
            "pub" | "(" | ")" | "crate" if i == 0 && tokens[i] != "crate" => {}
            token if is_ident(token) || token == "*" => path.push(token.to_string()),
            _ => {}
        }
        i += 1;
    }
    if path.len() > prefix.len() {
        found.push(path);
    }
}

/// What each module defines at its top level, and what it re-exports from where.
struct Index {
    modules: BTreeSet<Vec<String>>,
    defines: BTreeMap<Vec<String>, BTreeSet<String>>,
    reexports: BTreeMap<Vec<String>, Vec<(String, Vec<String>)>>,
}

impl Index {
    /// The module a path from `from` points into, re-exports followed to where things live.
    fn resolve(&self, from: &[String], path: &[String]) -> Option<Vec<String>> {
        let (mut module, rest): (Vec<String>, &[String]) = match path.first()?.as_str() {
            "crate" => (Vec::new(), &path[1..]),
            "super" => {
                let mut module = from.to_vec();
                let mut rest = path;
                while rest.first().is_some_and(|s| s == "super") {
                    module.pop();
                    rest = &rest[1..];
                }
                (module, rest)
            }
            "self" => (from.to_vec(), &path[1..]),
            child => {
                let mut module = from.to_vec();
                module.push(child.to_string());
                if !self.modules.contains(&module) {
                    return None; // an external crate, a type, a variant
                }
                (module, &path[1..])
            }
        };
        let mut rest = rest;
        while let Some(next) = rest.first() {
            let mut deeper = module.clone();
            deeper.push(next.clone());
            if !self.modules.contains(&deeper) {
                break;
            }
            module = deeper;
            rest = &rest[1..];
        }
        match rest.first() {
            Some(name) => Some(self.home(&module, name, 0)),
            None => Some(module),
        }
    }

    /// Where `name`, as `module` offers it, is defined.
    fn home(&self, module: &[String], name: &str, depth: usize) -> Vec<String> {
        if depth > 8 || self.defines.get(module).is_some_and(|d| d.contains(name)) {
            return module.to_vec();
        }
        for (exported, target) in self.reexports.get(module).into_iter().flatten() {
            if exported == name {
                return target.clone();
            }
            if exported == "*" && self.defines.get(target).is_some_and(|d| d.contains(name)) {
                return self.home(target, name, depth + 1);
            }
        }
        module.to_vec()
    }
}

fn index(modules: &[Module]) -> Index {
    let mut index = Index {
        modules: modules.iter().map(|m| m.path.clone()).collect(),
        defines: BTreeMap::new(),
        reexports: BTreeMap::new(),
    };
    for module in modules {
        let code = blank_literals(&module.code);
        let mut defined = BTreeSet::new();
        for line in code.lines().filter(|l| !l.starts_with(' ')) {
            let words: Vec<&str> = line
                .split(|c: char| !(c.is_alphanumeric() || c == '_'))
                .filter(|w| !w.is_empty())
                .collect();
            let keyword = words.iter().position(|w| {
                matches!(
                    *w,
                    "struct" | "enum" | "fn" | "const" | "static" | "type" | "trait"
                )
            });
            if let Some(name) = keyword.and_then(|k| words.get(k + 1)) {
                defined.insert(name.to_string());
            }
        }
        index.defines.insert(module.path.clone(), defined);
    }
    for module in modules {
        let code = blank_literals(&module.code);
        let mut reexports = Vec::new();
        for statement in code.split(';').filter(|s| is_reexport(s)) {
            let mut found = Vec::new();
            let offered = &statement[statement.find("use ").unwrap() + 4..];
            expand(&tokens(offered), Vec::new(), &mut found);
            for path in found {
                let name = path.last().unwrap().clone();
                let target = if name == "*" {
                    index.resolve(&module.path, &path[..path.len() - 1])
                } else {
                    index.resolve(&module.path, &path)
                };
                if let Some(target) = target.filter(|t| *t != module.path) {
                    reexports.push((name, target));
                }
            }
        }
        index.reexports.insert(module.path.clone(), reexports);
    }
    index
}

/// `pub use …`, `pub(crate) use …`: a name offered from elsewhere.
fn is_reexport(statement: &str) -> bool {
    let statement = statement.trim_start();
    let Some(rest) = statement.strip_prefix("pub") else {
        return false;
    };
    let rest = match rest.strip_prefix('(') {
        Some(scoped) => scoped.split_once(')').map_or("", |(_, rest)| rest),
        None => rest,
    };
    rest.trim_start().starts_with("use ")
}

fn name(path: &[String]) -> String {
    if path.is_empty() {
        "crate".into()
    } else {
        path.join("::")
    }
}

#[test]
fn no_module_depends_on_a_module_that_depends_on_it() {
    let modules = modules();
    let index = index(&modules);
    let mut edges: BTreeMap<Vec<String>, BTreeSet<Vec<String>>> = BTreeMap::new();
    for module in &modules {
        let code = blank_literals(&module.code);
        let targets = edges.entry(module.path.clone()).or_default();
        // `pub use` is where a name is offered, not a use of it.
        let used: String = code
            .split_inclusive(';')
            .filter(|s| !is_reexport(s))
            .collect();
        for path in paths(&used) {
            if let Some(target) = index.resolve(&module.path, &path) {
                if target != module.path {
                    targets.insert(target);
                }
            }
        }
    }
    // Depth-first search for a back edge.
    let mut cycles = Vec::new();
    let mut state: BTreeMap<Vec<String>, u8> = BTreeMap::new();
    fn visit(
        node: &Vec<String>,
        edges: &BTreeMap<Vec<String>, BTreeSet<Vec<String>>>,
        state: &mut BTreeMap<Vec<String>, u8>,
        stack: &mut Vec<Vec<String>>,
        cycles: &mut Vec<String>,
    ) {
        state.insert(node.clone(), 1);
        stack.push(node.clone());
        for next in edges.get(node).into_iter().flatten() {
            match state.get(next).copied().unwrap_or(0) {
                0 => visit(next, edges, state, stack, cycles),
                1 => {
                    let start = stack.iter().position(|m| m == next).unwrap();
                    let mut cycle: Vec<String> = stack[start..].iter().map(|m| name(m)).collect();
                    cycle.push(name(next));
                    cycles.push(cycle.join(" → "));
                }
                _ => {}
            }
        }
        stack.pop();
        state.insert(node.clone(), 2);
    }
    for node in edges.keys().cloned().collect::<Vec<_>>() {
        if state.get(&node).copied().unwrap_or(0) == 0 {
            visit(&node, &edges, &mut state, &mut Vec::new(), &mut cycles);
        }
    }
    assert!(
        edges.values().map(BTreeSet::len).sum::<usize>() > 50,
        "the dependency graph is implausibly small: the parser missed the paths"
    );
    assert!(
        cycles.is_empty(),
        "dependency cycles:\n{}",
        cycles.join("\n")
    );
}

#[test]
fn no_file_past_700_lines_of_code_and_no_function_past_a_screen() {
    let mut problems = Vec::new();
    for module in modules() {
        let code = blank_literals(&module.code);
        let lines = code.lines().filter(|l| !l.trim().is_empty()).count();
        let shown = module
            .file
            .strip_prefix(env!("CARGO_MANIFEST_DIR"))
            .unwrap()
            .display()
            .to_string();
        if lines > MAX_FILE_LINES {
            problems.push(format!(
                "{shown}: {lines} lines of code (at most {MAX_FILE_LINES})"
            ));
        }
        for (name, length) in functions(&code) {
            if length > MAX_FUNCTION_LINES {
                problems.push(format!(
                    "{shown}: fn {name} is {length} lines (at most {MAX_FUNCTION_LINES})"
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Every function with a body: its name and its lines, signature to closing brace.
fn functions(code: &str) -> Vec<(String, usize)> {
    let lines: Vec<&str> = code.lines().collect();
    let mut found = Vec::new();
    for (start, line) in lines.iter().enumerate() {
        let words: Vec<&str> = line.split_whitespace().collect();
        let Some(at) = words.iter().position(|w| *w == "fn") else {
            continue;
        };
        let Some(name) = words
            .get(at + 1)
            .map(|w| w.split(['(', '<']).next().unwrap_or(w))
        else {
            continue;
        };
        let mut depth = 0i32;
        let mut opened = false;
        for (offset, line) in lines[start..].iter().enumerate() {
            for c in line.chars() {
                match c {
                    '{' => {
                        depth += 1;
                        opened = true;
                    }
                    '}' => depth -= 1,
                    ';' if !opened && depth == 0 => break,
                    _ => {}
                }
            }
            if !opened && line.trim_end().ends_with(';') {
                break;
            }
            if opened && depth <= 0 {
                found.push((name.to_string(), offset + 1));
                break;
            }
        }
    }
    found
}

#[test]
fn every_source_file_is_on_the_readme_map() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let start = readme
        .find("## Architecture")
        .expect("README.md has an Architecture section");
    let section = &readme[start..];
    let map = section
        .split("```")
        .find(|block| block.trim_start().starts_with("src/"))
        .expect("the Architecture section draws the folders in a code block starting with src/");
    let mut missing = Vec::new();
    let mut files = Vec::new();
    collect(&root.join("src"), &mut files);
    for file in files {
        let relative = file.strip_prefix(root.join("src")).unwrap();
        let shown = relative.file_name().unwrap().to_string_lossy().into_owned();
        let folder = relative
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .map(|p| format!("{}/", p.display()));
        // A file is on the map by its name: a top-level file on any line, a folder's file on
        // the folder's entry (its line and the indented lines that continue it).
        let indent = |line: &str| line.len() - line.trim_start().len();
        let lines: Vec<&str> = map.lines().collect();
        let on_map = match &folder {
            None => lines.iter().any(|l| l.contains(&shown)),
            Some(folder) => lines
                .iter()
                .position(|l| l.trim_start().starts_with(folder.as_str()))
                .is_some_and(|at| {
                    let entry = indent(lines[at]);
                    std::iter::once(lines[at])
                        .chain(
                            lines[at + 1..]
                                .iter()
                                .copied()
                                .take_while(|l| indent(l) > entry),
                        )
                        .any(|l| l.contains(&shown))
                }),
        };
        if !on_map {
            missing.push(relative.display().to_string());
        }
    }
    assert!(
        missing.is_empty(),
        "not on README.md's map of src/: {missing:?}"
    );
}
