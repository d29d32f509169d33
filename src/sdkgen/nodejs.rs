use super::model::{Package, SchemaError};
use super::Files;

pub fn generate(_package: &Package) -> Result<Files, SchemaError> {
    Ok(Files::new())
}
