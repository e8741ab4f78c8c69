//! Typed reads from the parsed TOML document. A [`Table`] records every key it is asked for, so that a key
//! nobody asked for is reported as unknown (with a suggestion when it is a near miss), and a value of the
//! wrong type is reported with its line and field path instead of stopping the whole file.

use std::cell::RefCell;
use std::ops::Range;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::error::Problems;

/// A TOML value type that config fields are read as.
pub(crate) trait FromToml: Sized {
    /// What the value must be, for error messages ("an integer").
    const WHAT: &'static str;
    /// The value, or why this TOML value cannot be one.
    fn from_toml(v: &DeValue<'_>) -> Result<Self, String>;
}

impl FromToml for String {
    const WHAT: &'static str = "a string";
    fn from_toml(v: &DeValue<'_>) -> Result<Self, String> {
        v.as_str().map(str::to_string).ok_or_default()
    }
}

impl FromToml for bool {
    const WHAT: &'static str = "true or false";
    fn from_toml(v: &DeValue<'_>) -> Result<Self, String> {
        v.as_bool().ok_or_default()
    }
}

impl FromToml for f32 {
    const WHAT: &'static str = "a number";
    fn from_toml(v: &DeValue<'_>) -> Result<Self, String> {
        match v {
            DeValue::Float(f) => f.as_str().parse::<f32>().map_err(|e| e.to_string()),
            DeValue::Integer(_) => i64::from_toml(v).map(|i| i as f32),
            _ => Err(String::new()),
        }
    }
}

macro_rules! integer {
    ($($t:ty),*) => {$(
        impl FromToml for $t {
            const WHAT: &'static str = "an integer";
            fn from_toml(v: &DeValue<'_>) -> Result<Self, String> {
                let DeValue::Integer(i) = v else { return Err(String::new()) };
                <$t>::from_str_radix(i.as_str(), i.radix()).map_err(|_| {
                    format!("{i} is out of range ({} to {})", <$t>::MIN, <$t>::MAX)
                })
            }
        }
    )*};
}
integer!(i32, i64, u32, u64, usize);

/// `Option::ok_or` with the empty message that [`Table::get`] turns into "must be WHAT".
trait OkOrDefault<T> {
    fn ok_or_default(self) -> Result<T, String>;
}
impl<T> OkOrDefault<T> for Option<T> {
    fn ok_or_default(self) -> Result<T, String> {
        self.ok_or_else(String::new)
    }
}

/// One table of the document (the root, `[fetch]`, or one `[[sources]]` entry), with its field path.
pub(crate) struct Table<'d, 'i> {
    /// Field path prefix: "" for the root, `fetch`, `sources[3]`.
    path: String,
    /// Where the table is, for "missing key" errors.
    span: Option<Range<usize>>,
    /// None when the table is absent: every key then reads as unset.
    table: Option<&'d DeTable<'i>>,
    /// Keys asked for so far (present or not): the known keys of this table.
    asked: RefCell<Vec<&'static str>>,
}

impl<'d, 'i> Table<'d, 'i> {
    /// The document's root table.
    pub(crate) fn root(table: &'d Spanned<DeTable<'i>>) -> Self {
        Table {
            path: String::new(),
            span: Some(table.span()),
            table: Some(table.get_ref()),
            asked: RefCell::default(),
        }
    }

    /// The full field path of `key` in this table.
    pub(crate) fn field(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_string()
        } else {
            format!("{}.{key}", self.path)
        }
    }

    /// Where this table is in the file.
    pub(crate) fn span(&self) -> Option<Range<usize>> {
        self.span.clone()
    }

    fn raw(&self, key: &'static str) -> Option<&'d Spanned<DeValue<'i>>> {
        self.asked.borrow_mut().push(key);
        self.table?
            .iter()
            .find(|(k, _)| k.get_ref() == key)
            .map(|(_, v)| v)
    }

    /// The value at `key`, if set; a value of the wrong type is a problem and reads as unset.
    pub(crate) fn get<T: FromToml>(
        &self,
        p: &mut Problems,
        key: &'static str,
    ) -> Option<Spanned<T>> {
        let raw = self.raw(key)?;
        match T::from_toml(raw.get_ref()) {
            Ok(v) => Some(Spanned::new(raw.span(), v)),
            Err(why) => {
                let why = if why.is_empty() {
                    format!("must be {}", T::WHAT)
                } else {
                    why
                };
                p.add(Some(raw.span()), self.field(key), why);
                None
            }
        }
    }

    /// The value at `key`; a missing one is a problem.
    pub(crate) fn required<T: FromToml>(
        &self,
        p: &mut Problems,
        key: &'static str,
    ) -> Option<Spanned<T>> {
        if !self.contains(key) {
            self.asked.borrow_mut().push(key);
            p.add(
                self.span(),
                self.field(key),
                format!("is missing; it must be {}", T::WHAT),
            );
            return None;
        }
        self.get(p, key)
    }

    /// A list of values at `key` (each with its own span), if set.
    pub(crate) fn list<T: FromToml>(
        &self,
        p: &mut Problems,
        key: &'static str,
    ) -> Option<Spanned<Vec<Spanned<T>>>> {
        let raw = self.raw(key)?;
        let DeValue::Array(items) = raw.get_ref() else {
            p.add(
                Some(raw.span()),
                self.field(key),
                format!("must be a list of {}", plural(T::WHAT)),
            );
            return None;
        };
        let mut out = Vec::new();
        for (i, item) in items.iter().enumerate() {
            match T::from_toml(item.get_ref()) {
                Ok(v) => out.push(Spanned::new(item.span(), v)),
                Err(_) => p.add(
                    Some(item.span()),
                    format!("{}[{i}]", self.field(key)),
                    format!("must be {}", T::WHAT),
                ),
            }
        }
        Some(Spanned::new(raw.span(), out))
    }

    /// The sub-table `[key]`; absent, it reads as an empty table.
    pub(crate) fn table(&self, p: &mut Problems, key: &'static str) -> Table<'d, 'i> {
        let mut sub = Table {
            path: self.field(key),
            span: None,
            table: None,
            asked: RefCell::default(),
        };
        if let Some(raw) = self.raw(key) {
            match raw.get_ref() {
                DeValue::Table(t) => {
                    sub.span = Some(raw.span());
                    sub.table = Some(t);
                }
                _ => p.add(Some(raw.span()), self.field(key), "must be a table"),
            }
        }
        sub
    }

    /// Whether `key` is set, without counting it as a known key.
    pub(crate) fn contains(&self, key: &str) -> bool {
        self.table
            .is_some_and(|t| t.iter().any(|(k, _)| k.get_ref() == key))
    }

    /// The array of tables `[[key]]`, in file order.
    pub(crate) fn tables(&self, p: &mut Problems, key: &'static str) -> Vec<Table<'d, 'i>> {
        self.tables_from(p, key, 0)
    }

    /// [`Table::tables`] numbered from `first` in field paths: for a group of the file's tables parsed on
    /// its own, whose paths must still count from the file's first table.
    pub(crate) fn tables_from(
        &self,
        p: &mut Problems,
        key: &'static str,
        first: usize,
    ) -> Vec<Table<'d, 'i>> {
        let Some(raw) = self.raw(key) else {
            return Vec::new();
        };
        let DeValue::Array(items) = raw.get_ref() else {
            p.add(
                Some(raw.span()),
                self.field(key),
                format!("must be a list of tables: write each entry as [[{key}]]"),
            );
            return Vec::new();
        };
        let mut out = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let path = format!("{}[{}]", self.field(key), first + i);
            match item.get_ref() {
                DeValue::Table(t) => out.push(Table {
                    path,
                    span: Some(item.span()),
                    table: Some(t),
                    asked: RefCell::default(),
                }),
                _ => p.add(Some(item.span()), path, "must be a table"),
            }
        }
        out
    }

    /// Reports every key of this table that was never asked for.
    pub(crate) fn finish(&self, p: &mut Problems) {
        let Some(table) = self.table else { return };
        let asked = self.asked.borrow();
        for (key, _) in table.iter() {
            let name: &str = key.get_ref();
            if asked.contains(&name) {
                continue;
            }
            let hint = match asked.iter().min_by_key(|k| edit_distance(k, name)) {
                Some(near) if edit_distance(near, name) <= 2 => format!("; did you mean `{near}`?"),
                _ if asked.is_empty() => String::new(),
                _ => format!("; known keys here: {}", asked.join(", ")),
            };
            p.add(
                Some(key.span()),
                self.field(name),
                format!("unknown key `{name}`{hint}"),
            );
        }
    }
}

fn plural(what: &str) -> String {
    what.trim_start_matches("an ")
        .trim_start_matches("a ")
        .to_string()
        + "s"
}

/// Levenshtein distance, for "did you mean" hints on short keys.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, &cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != cb))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}
