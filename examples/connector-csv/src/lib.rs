//! A plug-in connector for `ecma-host`: users as the rows of a CSV file. It lives outside
//! `reference-host`, implements [`Connector`] and is registered through
//! [`reference_host::HostBuilder::connector`] — what a custom ECMA 2.0 connector is to ECMA2Host
//! (Microsoft, "Microsoft Entra ECMA Connector Host": the host runs custom connectors beside its
//! generic ones). It is small on purpose: the example a connector author starts from.
//!
//! ```toml
//! [[connector]]
//! name = "CSV"
//! token = { env = "ECMA_HOST_TOKEN" }
//! [connector.deprovisioning]
//! disable_flow = { set_attribute = "disabled", value = true }
//! delete_flow = "delete"
//! [connector.plugin]
//! type = "csv"
//! parameters = { file = "users.csv", anchor = "login", columns = ["login", "surname", "mail"] }
//! ```
//!
//! and in the host's `main`:
//!
//! ```no_run
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let config = reference_host::config::Config::load("ecma-host.toml".as_ref())?;
//! let host = ecmacert_connector_csv::register(reference_host::Host::builder(config, ".".as_ref()))
//!     .build()?;
//! # Ok(()) }
//! ```
//!
//! The file's first line names the columns: the anchor, the selected `columns`, then the
//! deprovisioning flows' attribute (written `true`/`false`). Every value is a string; an empty
//! field is no value. The anchor is given on create and never changes; the SCIM `id` is its
//! value and the DN is `CN=<anchor>,OBJECT=USER`. A file that does not exist is an empty one.
//!
//! Writes: one thread owns writing the file; an export batch reads the file, applies each change
//! (a change that fails leaves the others alone), and replaces the file atomically (a temporary
//! file renamed over it), so a reader never sees half a file and the host holds no lock while
//! the file is written. Imports read the file as it stands, so rows edited out of band are
//! seen. The file format is the `csv` crate's (RFC 4180 quoting).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use indexmap::IndexMap;
use reference_host::PluginContext;
use reference_host::config::Deprovisioning;
use reference_host::connector::{
    AttrRole, AttributeChange, AttributeDef, Capabilities, Connector, ConnectorError,
    ConnectorSchema, CsEntry, EntryChange, Exported, ImportSession,
};
use scim_proto::schema::AttrType;
use scim_proto::value::Scalar;

/// The type name the connector registers under: `[connector.plugin] type = "csv"`.
pub const TYPE: &str = "csv";

/// Registers the CSV connector with a host builder under [`TYPE`].
pub fn register(builder: reference_host::HostBuilder) -> reference_host::HostBuilder {
    builder.connector(TYPE, factory)
}

/// Builds a CSV connector from `[connector.plugin] parameters`: `file` (a path, relative to the
/// configuration file), `anchor` (a column), `columns` (the selected columns, the anchor among
/// them), `page_size` (rows per import page; default 100). `Err` names the parameter.
pub fn factory(ctx: &PluginContext<'_>) -> Result<Arc<dyn Connector>, String> {
    let p = ctx.parameters;
    if let Some(unknown) = p
        .keys()
        .find(|k| !["file", "anchor", "columns", "page_size"].contains(&k.as_str()))
    {
        return Err(format!(
            "{unknown}: unknown parameter (file, anchor, columns, page_size)"
        ));
    }
    let text = |key: &str| {
        p.get(key)
            .and_then(toml::Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .ok_or_else(|| format!("{key}: missing or not a non-empty string"))
    };
    let file = ctx.base_dir.join(text("file")?);
    let anchor = text("anchor")?;
    let columns: Vec<String> = p
        .get("columns")
        .and_then(toml::Value::as_array)
        .ok_or("columns: missing or not an array of column names")?
        .iter()
        .map(|v| {
            v.as_str()
                .filter(|s| !s.is_empty() && !s.contains(['\n', '\r', '"']))
                .map(str::to_owned)
                .ok_or_else(|| format!("columns: {v:?} is not a plain column name"))
        })
        .collect::<Result<_, _>>()?;
    if !columns.contains(&anchor) {
        return Err(format!("columns: must hold the anchor {anchor:?}"));
    }
    for (i, c) in columns.iter().enumerate() {
        if columns[..i].iter().any(|o| o.eq_ignore_ascii_case(c)) {
            return Err(format!("columns: {c:?} is listed twice"));
        }
    }
    let page_size = match p.get("page_size") {
        None => 100,
        Some(v) => v
            .as_integer()
            .filter(|n| *n > 0)
            .and_then(|n| usize::try_from(n).ok())
            .ok_or("page_size: must be a positive integer")?,
    };
    Ok(Arc::new(CsvConnector::new(
        file,
        &anchor,
        &columns,
        ctx.deprovisioning,
        page_size,
    )))
}

/// Users in a CSV file; see the crate documentation.
pub struct CsvConnector {
    file: PathBuf,
    anchor: String,
    schema: ConnectorSchema,
    page_size: usize,
    writer: std::sync::mpsc::Sender<WriteJob>,
}

/// A batch for the writer thread, and where its results go.
struct WriteJob {
    changes: Vec<EntryChange>,
    reply: tokio::sync::oneshot::Sender<Vec<Result<Exported, ConnectorError>>>,
}

/// The file's rows: column → value, in the file's order.
type Rows = Vec<IndexMap<String, String>>;

impl CsvConnector {
    /// A connector on `file` (created on the first write), with the anchor column, the selected
    /// columns, and a Boolean column for each deprovisioning flow that sets an attribute.
    pub fn new(
        file: PathBuf,
        anchor: &str,
        columns: &[String],
        deprovisioning: &Deprovisioning,
        page_size: usize,
    ) -> CsvConnector {
        let mut attributes: Vec<AttributeDef> = columns
            .iter()
            .map(|c| AttributeDef {
                name: c.clone(),
                kind: AttrType::String,
                multi_valued: false,
                case_exact: false,
                role: if c == anchor {
                    AttrRole::Key
                } else {
                    AttrRole::Normal
                },
            })
            .collect();
        reference_host::connector::add_flow_attributes(&mut attributes, deprovisioning);
        let schema = ConnectorSchema { attributes };
        let (writer, jobs) = std::sync::mpsc::channel::<WriteJob>();
        let thread_file = file.clone();
        let thread_anchor = anchor.to_owned();
        let header: Vec<String> = schema.attributes.iter().map(|a| a.name.clone()).collect();
        // Ends when the connector (the only sender) is dropped.
        std::thread::spawn(move || {
            for job in jobs {
                let results = apply(&thread_file, &thread_anchor, &header, job.changes);
                let _ = job.reply.send(results);
            }
        });
        CsvConnector {
            file,
            anchor: anchor.to_owned(),
            schema,
            page_size,
            writer,
        }
    }

    fn entry(&self, row: &IndexMap<String, String>) -> Option<CsEntry> {
        let anchor = row.get(&self.anchor).filter(|a| !a.is_empty())?.clone();
        let mut attributes = IndexMap::new();
        for def in &self.schema.attributes {
            let Some(v) = row.get(&def.name).filter(|v| !v.is_empty()) else {
                continue;
            };
            let value = match def.kind {
                AttrType::Boolean => Scalar::Boolean(v.eq_ignore_ascii_case("true")),
                _ => Scalar::String(v.clone()),
            };
            attributes.insert(def.name.clone(), vec![value]);
        }
        Some(CsEntry {
            dn: autogenerated_dn(&anchor),
            anchor,
            attributes,
        })
    }
}

/// `CN=<anchor>,OBJECT=USER`, the Generic SQL connector's autogenerated DN.
fn autogenerated_dn(anchor: &str) -> String {
    format!(
        "CN={},OBJECT=USER",
        reference_host::dn::escape_value(anchor)
    )
}

fn unavailable(file: &Path, e: impl std::fmt::Display) -> ConnectorError {
    ConnectorError::Unavailable {
        detail: format!("{}: {e}", file.display()),
    }
}

/// Reads every row of `file`; a missing file has none. A header without the `anchor` column
/// is an error, not an empty file: the host drops what an import does not bring.
fn read_rows(file: &Path, anchor: &str) -> Result<Rows, ConnectorError> {
    let mut reader = match csv::Reader::from_path(file) {
        Ok(r) => r,
        Err(e) => {
            if let csv::ErrorKind::Io(io) = e.kind()
                && io.kind() == std::io::ErrorKind::NotFound
            {
                return Ok(Vec::new());
            }
            return Err(unavailable(file, e));
        }
    };
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| unavailable(file, e))?
        .iter()
        .map(str::to_owned)
        .collect();
    // An empty file (no header yet) holds no rows.
    if header.is_empty() {
        return Ok(Vec::new());
    }
    if !header.iter().any(|h| h == anchor) {
        return Err(unavailable(
            file,
            format!("its header has no {anchor:?} column (the anchor): {header:?}"),
        ));
    }
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| unavailable(file, e))?;
        rows.push(
            header
                .iter()
                .cloned()
                .zip(record.iter().map(str::to_owned))
                .collect(),
        );
    }
    Ok(rows)
}

/// Writes `rows` under `header` to a temporary file beside `file`, then renames it over `file`.
fn write_rows(file: &Path, header: &[String], rows: &Rows) -> Result<(), ConnectorError> {
    let temporary = file.with_extension("csv.writing");
    let mut writer = csv::Writer::from_path(&temporary).map_err(|e| unavailable(file, e))?;
    writer
        .write_record(header)
        .map_err(|e| unavailable(file, e))?;
    for row in rows {
        writer
            .write_record(header.iter().map(|h| row.get(h).map_or("", String::as_str)))
            .map_err(|e| unavailable(file, e))?;
    }
    // On disk before the rename, and the rename on disk before the answer: a crash leaves the
    // old file or the new one, never an empty one.
    let written = writer
        .into_inner()
        .map_err(|e| unavailable(file, e.error()))?;
    written.sync_all().map_err(|e| unavailable(file, e))?;
    drop(written);
    std::fs::rename(&temporary, file).map_err(|e| unavailable(file, e))?;
    let directory = match file.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    std::fs::File::open(directory)
        .and_then(|d| d.sync_all())
        .map_err(|e| unavailable(file, e))
}

fn text_of(values: &[Scalar]) -> Result<String, ConnectorError> {
    match values {
        [] => Ok(String::new()),
        [Scalar::String(s)] => Ok(s.clone()),
        [Scalar::Boolean(b)] => Ok(b.to_string()),
        [Scalar::Integer(i)] => Ok(i.to_string()),
        _ => Err(ConnectorError::Rejected {
            detail: "a CSV field holds one value".into(),
        }),
    }
}

fn set(
    row: &mut IndexMap<String, String>,
    header: &[String],
    change: &AttributeChange,
) -> Result<(), ConnectorError> {
    let column = header
        .iter()
        .find(|h| h.eq_ignore_ascii_case(&change.name))
        .ok_or_else(|| ConnectorError::Rejected {
            detail: format!("the file has no column {}", change.name),
        })?;
    row.insert(column.clone(), text_of(&change.values)?);
    Ok(())
}

/// The writer thread's work: one batch against the file as it stands.
fn apply(
    file: &Path,
    anchor: &str,
    header: &[String],
    changes: Vec<EntryChange>,
) -> Vec<Result<Exported, ConnectorError>> {
    let mut rows = match read_rows(file, anchor) {
        Ok(rows) => rows,
        Err(e) => {
            let detail = e.to_string();
            return changes
                .iter()
                .map(|_| {
                    Err(ConnectorError::Unavailable {
                        detail: detail.clone(),
                    })
                })
                .collect();
        }
    };
    let position = |rows: &Rows, a: &str| {
        rows.iter()
            .position(|r| r.get(anchor).is_some_and(|v| v == a))
    };
    let mut results = Vec::with_capacity(changes.len());
    for change in changes {
        results.push(match change {
            EntryChange::Add {
                attributes,
                password,
                ..
            } => (|| {
                if password.is_some() {
                    return Err(ConnectorError::Rejected {
                        detail: "the CSV connector sets no passwords".into(),
                    });
                }
                let mut row: IndexMap<String, String> =
                    header.iter().map(|h| (h.clone(), String::new())).collect();
                for a in &attributes {
                    set(&mut row, header, a)?;
                }
                let key = row.get(anchor).cloned().unwrap_or_default();
                if key.is_empty() {
                    return Err(ConnectorError::Rejected {
                        detail: format!("{anchor} (the anchor) is required on create"),
                    });
                }
                if position(&rows, &key).is_some() {
                    return Err(ConnectorError::AlreadyExists {
                        detail: format!("a row with {anchor} {key:?} exists already"),
                    });
                }
                rows.push(row);
                Ok(key)
            })()
            .map(Some),
            EntryChange::Update {
                anchor: key,
                changes,
                password,
                ..
            } => (|| {
                if password.is_some() {
                    return Err(ConnectorError::Rejected {
                        detail: "the CSV connector sets no passwords".into(),
                    });
                }
                let i = position(&rows, &key).ok_or_else(|| ConnectorError::NoSuchObject {
                    detail: format!("no row has {anchor} {key:?}"),
                })?;
                // Whole or not at all: changed on a copy.
                let mut row = rows[i].clone();
                for c in &changes {
                    set(&mut row, header, c)?;
                }
                rows[i] = row;
                Ok(key)
            })()
            .map(Some),
            EntryChange::Delete { anchor: key, .. } => match position(&rows, &key) {
                Some(i) => {
                    rows.remove(i);
                    Ok(None)
                }
                None => Err(ConnectorError::NoSuchObject {
                    detail: format!("no row has {anchor} {key:?}"),
                }),
            },
        });
    }
    if results.iter().any(Result::is_ok)
        && let Err(e) = write_rows(file, header, &rows)
    {
        let detail = e.to_string();
        return results
            .iter()
            .map(|_| {
                Err(ConnectorError::Unavailable {
                    detail: detail.clone(),
                })
            })
            .collect();
    }
    // The object as the file now holds it, for adds and updates.
    let entry_of = |key: &str| -> Option<CsEntry> {
        let row = rows
            .iter()
            .find(|r| r.get(anchor).is_some_and(|v| v == key))?;
        let anchor_value = row.get(anchor)?.clone();
        let mut attributes = IndexMap::new();
        for (column, value) in row {
            if !value.is_empty() {
                attributes.insert(column.clone(), vec![Scalar::String(value.clone())]);
            }
        }
        Some(CsEntry {
            dn: autogenerated_dn(&anchor_value),
            anchor: anchor_value,
            attributes,
        })
    };
    results
        .into_iter()
        .map(|r| {
            r.map(|key| Exported {
                entry: key.and_then(|k| entry_of(&k)),
            })
        })
        .collect()
}

#[async_trait]
impl Connector for CsvConnector {
    fn schema(&self) -> &ConnectorSchema {
        &self.schema
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            dn_autogenerated: true,
            object_rename: false,
        }
    }

    fn anchor_key(&self, anchor: &str) -> String {
        anchor.to_owned()
    }

    fn normalize_dn(&self, dn: &str) -> String {
        reference_host::dn::normalize(dn)
    }

    async fn open_import(&self) -> Result<Box<dyn ImportSession>, ConnectorError> {
        let file = self.file.clone();
        let anchor = self.anchor.clone();
        let rows = tokio::task::spawn_blocking(move || read_rows(&file, &anchor))
            .await
            .map_err(|e| unavailable(&self.file, e))??;
        let entries: Vec<CsEntry> = rows.iter().filter_map(|r| self.entry(r)).collect();
        Ok(Box::new(CsvImport {
            entries: entries.into_iter(),
            page_size: self.page_size,
            source: format!("the CSV file {}", self.file.display()),
        }))
    }

    async fn put_export_entries(
        &self,
        changes: Vec<EntryChange>,
    ) -> Vec<Result<Exported, ConnectorError>> {
        let count = changes.len();
        let (reply, results) = tokio::sync::oneshot::channel();
        let stopped = || {
            (0..count)
                .map(|_| {
                    Err(ConnectorError::Unavailable {
                        detail: "the CSV connector's writer has stopped".into(),
                    })
                })
                .collect()
        };
        if self.writer.send(WriteJob { changes, reply }).is_err() {
            return stopped();
        }
        let results = results.await.unwrap_or_else(|_| stopped());
        // Booleans are read back typed, as an import reads them.
        results
            .into_iter()
            .map(|r| {
                r.map(|mut exported| {
                    exported.entry = exported.entry.and_then(|e| {
                        let row: IndexMap<String, String> = e
                            .attributes
                            .iter()
                            .filter_map(|(k, v)| match v.first() {
                                Some(Scalar::String(s)) => Some((k.clone(), s.clone())),
                                _ => None,
                            })
                            .collect();
                        self.entry(&row)
                    });
                    exported
                })
            })
            .collect()
    }
}

/// A full import: the file as it stood when the import opened, page by page.
struct CsvImport {
    entries: std::vec::IntoIter<CsEntry>,
    page_size: usize,
    source: String,
}

#[async_trait]
impl ImportSession for CsvImport {
    async fn next_page(&mut self) -> Result<Option<Vec<CsEntry>>, ConnectorError> {
        let page: Vec<CsEntry> = self.entries.by_ref().take(self.page_size).collect();
        Ok((!page.is_empty()).then_some(page))
    }

    fn source(&self) -> String {
        self.source.clone()
    }
}
