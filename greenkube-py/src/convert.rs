//! Conversions between Python objects and the core's serde types.
//!
//! Results go out through `pythonize`: serde straight to plain Python objects, in the contract's
//! field order. Snapshots come in as a JSON value, built here with the GIL held; the core then
//! parses it with the GIL released. The rules are JSON's: `dict` (string keys), `list` and
//! `tuple`, `str`, `int`, `float`, `bool`, `None`. Two conveniences for notebooks: any other
//! mapping is read like a `dict`, and a timezone-aware `datetime` becomes its ISO 8601 text.
//! JSON has no NaN or infinity, so a non-finite float is refused here, naming its JSON path.

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{
    PyBool, PyDateTime, PyDict, PyFloat, PyInt, PyList, PyMapping, PyString, PyTuple,
};
use serde_json::{Map, Number, Value};

use crate::error;

/// Deepest nesting accepted, as in `serde_json` (which also stops at 128). It also stops a
/// container that contains itself.
const MAX_DEPTH: usize = 128;

/// One step of a JSON path.
enum Segment {
    Key(String),
    Index(usize),
}

/// Why a Python object is not JSON: what was wrong, and where.
pub(crate) struct ConvertError {
    /// Path from the offending value up to the root (reversed while unwinding).
    path: Vec<Segment>,
    message: String,
}

impl ConvertError {
    fn new(message: String) -> Self {
        Self {
            path: Vec::new(),
            message,
        }
    }

    fn at(mut self, segment: Segment) -> Self {
        self.path.push(segment);
        self
    }

    /// The JSON path in the core's notation: `pods[3].cpu_usage_cores`, or `.` for the root.
    fn field(&self) -> String {
        let mut out = String::new();
        for segment in self.path.iter().rev() {
            match segment {
                Segment::Key(key) if out.is_empty() => out.push_str(key),
                Segment::Key(key) => {
                    out.push('.');
                    out.push_str(key);
                }
                Segment::Index(i) => {
                    out.push('[');
                    out.push_str(&i.to_string());
                    out.push(']');
                }
            }
        }
        if out.is_empty() {
            out.push('.');
        }
        out
    }

    /// The error as a `SnapshotError` naming the field.
    pub(crate) fn into_py_err(self, py: Python<'_>) -> PyErr {
        let field = self.field();
        error::snapshot_error(py, format!("{field}: {}", self.message), Some(&field))
    }
}

/// What the snapshot argument of `estimate` was.
pub(crate) enum SnapshotInput {
    /// JSON text, borrowed from the Python `str` (immutable, kept alive by the object).
    Text(pyo3::pybacked::PyBackedStr),
    /// An already-decoded document.
    Value(Value),
}

impl SnapshotInput {
    /// Reads `estimate`'s snapshot argument: a `str` of JSON, or a mapping.
    pub(crate) fn extract(obj: &Bound<'_, PyAny>) -> PyResult<Self> {
        if let Ok(text) = obj.cast::<PyString>() {
            return Ok(Self::Text(text.clone().try_into()?));
        }
        if obj.is_instance_of::<PyDict>() || obj.is_instance_of::<PyMapping>() {
            return to_json(obj, 0)
                .map(Self::Value)
                .map_err(|err| err.into_py_err(obj.py()));
        }
        Err(PyTypeError::new_err(format!(
            "snapshot must be a dict or a JSON string, not {}",
            type_name(obj)
        )))
    }
}

/// A JSON document argument: text, or decoded objects (mapping or sequence).
pub(crate) enum JsonInput {
    /// JSON text.
    Text(pyo3::pybacked::PyBackedStr),
    /// An already-decoded document.
    Value(Value),
}

impl JsonInput {
    /// Reads an argument that may be JSON text, a mapping, or a list/tuple of mappings.
    pub(crate) fn extract(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<Self> {
        if let Ok(text) = obj.cast::<PyString>() {
            return Ok(Self::Text(text.clone().try_into()?));
        }
        if obj.is_instance_of::<PyDict>()
            || obj.is_instance_of::<PyMapping>()
            || obj.is_instance_of::<pyo3::types::PyList>()
            || obj.is_instance_of::<pyo3::types::PyTuple>()
        {
            return to_json(obj, 0)
                .map(Self::Value)
                .map_err(|err| err.into_py_err(obj.py()));
        }
        Err(PyTypeError::new_err(format!(
            "{what} must be a list, a dict or a JSON string, not {}",
            type_name(obj)
        )))
    }
}

fn type_name(obj: &Bound<'_, PyAny>) -> String {
    obj.get_type()
        .name()
        .map_or_else(|_| "an unknown type".to_string(), |name| name.to_string())
}

/// Converts a Python object to a JSON value.
fn to_json(obj: &Bound<'_, PyAny>, depth: usize) -> Result<Value, ConvertError> {
    if depth > MAX_DEPTH {
        return Err(ConvertError::new(format!(
            "nested deeper than {MAX_DEPTH} levels"
        )));
    }
    if obj.is_none() {
        return Ok(Value::Null);
    }
    if let Ok(flag) = obj.cast::<PyBool>() {
        return Ok(Value::Bool(flag.is_true()));
    }
    if obj.is_instance_of::<PyInt>() {
        return int_to_json(obj);
    }
    if let Ok(float) = obj.cast::<PyFloat>() {
        return float_to_json(float.value());
    }
    if let Ok(text) = obj.cast::<PyString>() {
        return text
            .to_str()
            .map(|s| Value::String(s.to_owned()))
            .map_err(|err| ConvertError::new(err.to_string()));
    }
    if let Ok(dict) = obj.cast::<PyDict>() {
        return object_to_json(dict.iter(), dict.len(), depth);
    }
    if let Ok(list) = obj.cast::<PyList>() {
        return array_to_json(list.iter(), list.len(), depth);
    }
    if let Ok(tuple) = obj.cast::<PyTuple>() {
        return array_to_json(tuple.iter(), tuple.len(), depth);
    }
    if obj.is_instance_of::<PyDateTime>() {
        return datetime_to_json(obj);
    }
    if let Ok(mapping) = obj.cast::<PyMapping>() {
        let items = mapping
            .items()
            .map_err(|err| ConvertError::new(err.to_string()))?;
        let mut pairs = Vec::with_capacity(items.len());
        for item in items.iter() {
            let pair = item
                .extract::<(Bound<'_, PyAny>, Bound<'_, PyAny>)>()
                .map_err(|err| ConvertError::new(err.to_string()))?;
            pairs.push(pair);
        }
        let len = pairs.len();
        return object_to_json(pairs.into_iter(), len, depth);
    }
    Err(ConvertError::new(format!(
        "{} is not a JSON type (use a dict, list, str, int, float, bool or None)",
        type_name(obj)
    )))
}

fn int_to_json(obj: &Bound<'_, PyAny>) -> Result<Value, ConvertError> {
    if let Ok(n) = obj.extract::<i64>() {
        return Ok(Value::Number(n.into()));
    }
    if let Ok(n) = obj.extract::<u64>() {
        return Ok(Value::Number(n.into()));
    }
    // Larger than 64 bits: a float, as JSON readers do.
    let n = obj
        .extract::<f64>()
        .map_err(|err| ConvertError::new(err.to_string()))?;
    float_to_json(n)
}

fn float_to_json(value: f64) -> Result<Value, ConvertError> {
    Number::from_f64(value).map(Value::Number).ok_or_else(|| {
        ConvertError::new(format!(
            "{value} is not allowed: numbers must be finite (JSON has no NaN or infinity)"
        ))
    })
}

fn datetime_to_json(obj: &Bound<'_, PyAny>) -> Result<Value, ConvertError> {
    let py_err = |err: PyErr| ConvertError::new(err.to_string());
    if obj.getattr("tzinfo").map_err(py_err)?.is_none() {
        return Err(ConvertError::new(
            "a datetime without a timezone is ambiguous; give it one (for example \
             datetime.timezone.utc) or pass an RFC 3339 string"
                .to_string(),
        ));
    }
    let text = obj.call_method0("isoformat").map_err(py_err)?;
    Ok(Value::String(text.extract::<String>().map_err(py_err)?))
}

fn object_to_json<'py>(
    items: impl Iterator<Item = (Bound<'py, PyAny>, Bound<'py, PyAny>)>,
    len: usize,
    depth: usize,
) -> Result<Value, ConvertError> {
    let mut map = Map::with_capacity(len);
    for (key, value) in items {
        let Ok(key) = key.cast::<PyString>() else {
            return Err(ConvertError::new(format!(
                "keys must be strings, not {} ({})",
                type_name(&key),
                key.repr()
                    .map_or_else(|_| "?".to_string(), |r| r.to_string())
            )));
        };
        let key = key
            .to_str()
            .map_err(|err| ConvertError::new(err.to_string()))?
            .to_owned();
        match to_json(&value, depth + 1) {
            Ok(value) => {
                map.insert(key, value);
            }
            Err(err) => return Err(err.at(Segment::Key(key))),
        }
    }
    Ok(Value::Object(map))
}

fn array_to_json<'py>(
    items: impl Iterator<Item = Bound<'py, PyAny>>,
    len: usize,
    depth: usize,
) -> Result<Value, ConvertError> {
    let mut out = Vec::with_capacity(len);
    for (i, item) in items.enumerate() {
        out.push(to_json(&item, depth + 1).map_err(|err| err.at(Segment::Index(i)))?);
    }
    Ok(Value::Array(out))
}
