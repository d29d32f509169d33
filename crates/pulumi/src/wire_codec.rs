//! The gRPC codec of the Pulumi service: prost's, except for what a request that does not
//! decode answers. tonic's prost codec calls every decode failure INTERNAL, which tells the
//! engine the provider itself is broken; a request nested deeper than protobuf's recursion
//! limit (100 messages) is the caller's invalid argument, and the answer names the property.

use prost::bytes::{Buf, Bytes};
use prost::Message;
use std::marker::PhantomData;
use tonic::codec::{BufferSettings, Codec, DecodeBuf, Decoder};
use tonic::Status;
use tonic_prost::ProstEncoder;

/// Used by the generated service and client code (see build.rs) in place of `ProstCodec`.
#[derive(Debug, Clone)]
pub struct WireCodec<T, U> {
    _types: PhantomData<(T, U)>,
}

impl<T, U> Default for WireCodec<T, U> {
    fn default() -> Self {
        Self {
            _types: PhantomData,
        }
    }
}

impl<T, U> Codec for WireCodec<T, U>
where
    T: Message + Send + 'static,
    U: Message + Default + Send + 'static,
{
    type Encode = T;
    type Decode = U;
    type Encoder = ProstEncoder<T>;
    type Decoder = WireDecoder<U>;

    fn encoder(&mut self) -> Self::Encoder {
        ProstEncoder::new(BufferSettings::default())
    }

    fn decoder(&mut self) -> Self::Decoder {
        WireDecoder { _type: PhantomData }
    }
}

#[derive(Debug, Clone)]
pub struct WireDecoder<U> {
    _type: PhantomData<U>,
}

impl<U: Message + Default> Decoder for WireDecoder<U> {
    type Item = U;
    type Error = Status;

    fn decode(&mut self, buf: &mut DecodeBuf<'_>) -> Result<Option<U>, Status> {
        let bytes = buf.copy_to_bytes(buf.remaining());
        U::decode(bytes.clone())
            .map(Some)
            .map_err(|error| refusal(&bytes, &error))
    }
}

/// How deep a property value may be nested, in lists and objects, on the wire: protobuf's
/// recursion limit (100 messages) counts a Value and its Struct or ListValue as two.
pub const MAX_WIRE_DEPTH: usize = 48;

fn refusal(request: &Bytes, error: &prost::DecodeError) -> Status {
    match too_deep_property(request) {
        Some(name) => Status::invalid_argument(format!(
            "property {name}: nested deeper than {MAX_WIRE_DEPTH} levels of lists and objects; \
             pgentra's properties are a few levels deep"
        )),
        None => Status::invalid_argument(format!("the request does not decode: {error}")),
    }
}

/// The first property (of any Struct field of the request) whose value nests deeper than
/// [`MAX_WIRE_DEPTH`], found without recursion so no depth can overflow the stack.
pub fn too_deep_property(request: &[u8]) -> Option<String> {
    fields(request)?.into_iter().find_map(|field| match field {
        (_, Field::Bytes(inner)) => struct_entries(inner)?
            .into_iter()
            .find(|(_, value)| value_depth(value) > MAX_WIRE_DEPTH)
            .map(|(key, _)| key),
        _ => None,
    })
}

enum Field<'a> {
    Bytes(&'a [u8]),
    Scalar,
}

/// A message's fields (number, payload), or `None` when the bytes are not a message.
fn fields(mut bytes: &[u8]) -> Option<Vec<(u64, Field<'_>)>> {
    let mut out = Vec::new();
    while !bytes.is_empty() {
        let tag = varint(&mut bytes)?;
        let field = match tag & 7 {
            0 => {
                varint(&mut bytes)?;
                Field::Scalar
            }
            1 => {
                bytes = bytes.get(8..)?;
                Field::Scalar
            }
            2 => {
                let len = usize::try_from(varint(&mut bytes)?).ok()?;
                let (payload, rest) = (bytes.get(..len)?, bytes.get(len..)?);
                bytes = rest;
                Field::Bytes(payload)
            }
            5 => {
                bytes = bytes.get(4..)?;
                Field::Scalar
            }
            _ => return None,
        };
        out.push((tag >> 3, field));
    }
    Some(out)
}

fn varint(bytes: &mut &[u8]) -> Option<u64> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let (&byte, rest) = bytes.split_first()?;
        *bytes = rest;
        value |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Some(value);
        }
    }
    None
}

/// A google.protobuf.Struct's entries (key, Value bytes), or `None` when it is not one.
fn struct_entries(bytes: &[u8]) -> Option<Vec<(String, &[u8])>> {
    fields(bytes)?
        .into_iter()
        .map(|(number, field)| match (number, field) {
            (1, Field::Bytes(entry)) => {
                let mut key = None;
                let mut value: &[u8] = &[];
                for (n, f) in fields(entry)? {
                    match (n, f) {
                        (1, Field::Bytes(k)) => key = Some(String::from_utf8(k.to_vec()).ok()?),
                        (2, Field::Bytes(v)) => value = v,
                        _ => return None,
                    }
                }
                Some((key?, value))
            }
            _ => None,
        })
        .collect()
}

/// How many lists and objects deep a google.protobuf.Value is (a scalar is 0), counted with
/// an explicit stack.
fn value_depth(value: &[u8]) -> usize {
    #[derive(Clone, Copy)]
    enum Kind {
        Value,
        Struct,
        Entry,
        List,
    }
    let mut deepest = 0;
    let mut stack = vec![(value, Kind::Value, 0usize)];
    while let Some((bytes, kind, depth)) = stack.pop() {
        deepest = deepest.max(depth);
        let Some(fields) = fields(bytes) else {
            continue;
        };
        for (number, field) in fields {
            let Field::Bytes(inner) = field else { continue };
            let next = match (kind, number) {
                (Kind::Value, 5) => (Kind::Struct, depth + 1),
                (Kind::Value, 6) => (Kind::List, depth + 1),
                (Kind::Struct, 1) => (Kind::Entry, depth),
                (Kind::Entry, 2) | (Kind::List, 1) => (Kind::Value, depth),
                _ => continue,
            };
            stack.push((inner, next.0, next.1));
        }
    }
    deepest
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::pulumirpc::CheckRequest;
    use prost_types::{value::Kind, ListValue, Struct, Value};

    /// A Value nested `depth` lists deep, encoded by hand (prost's encoder recurses too).
    pub fn nested_list_bytes(depth: usize) -> Vec<u8> {
        let mut value = Value {
            kind: Some(Kind::StringValue("leaf".into())),
        }
        .encode_to_vec();
        for _ in 0..depth {
            let list = ListValue::default().encode_to_vec();
            let mut list_bytes = list;
            // ListValue { values: [value] }
            prost::encoding::encode_key(
                1,
                prost::encoding::WireType::LengthDelimited,
                &mut list_bytes,
            );
            prost::encoding::encode_varint(value.len() as u64, &mut list_bytes);
            list_bytes.extend_from_slice(&value);
            // Value { list_value: list }
            let mut next = Vec::new();
            prost::encoding::encode_key(6, prost::encoding::WireType::LengthDelimited, &mut next);
            prost::encoding::encode_varint(list_bytes.len() as u64, &mut next);
            next.extend_from_slice(&list_bytes);
            value = next;
        }
        value
    }

    fn check_request_with(name: &str, value: &[u8]) -> Vec<u8> {
        let mut entry = Vec::new();
        prost::encoding::string::encode(1, &name.to_owned(), &mut entry);
        prost::encoding::encode_key(2, prost::encoding::WireType::LengthDelimited, &mut entry);
        prost::encoding::encode_varint(value.len() as u64, &mut entry);
        entry.extend_from_slice(value);
        let mut news = Vec::new();
        prost::encoding::encode_key(1, prost::encoding::WireType::LengthDelimited, &mut news);
        prost::encoding::encode_varint(entry.len() as u64, &mut news);
        news.extend_from_slice(&entry);
        let mut request = CheckRequest {
            urn: "urn:pulumi:dev::p::pgentra:index:Grant::g".into(),
            ..Default::default()
        }
        .encode_to_vec();
        // CheckRequest.news is field 3.
        prost::encoding::encode_key(3, prost::encoding::WireType::LengthDelimited, &mut request);
        prost::encoding::encode_varint(news.len() as u64, &mut request);
        request.extend_from_slice(&news);
        request
    }

    fn decode(bytes: Vec<u8>) -> Result<CheckRequest, Status> {
        let bytes = Bytes::from(bytes);
        CheckRequest::decode(bytes.clone()).map_err(|e| refusal(&bytes, &e))
    }

    #[test]
    fn ten_thousand_nested_lists_are_an_invalid_argument_naming_the_property() {
        let status = decode(check_request_with("privileges", &nested_list_bytes(10_000)))
            .expect_err("prost refuses past its recursion limit");
        assert_eq!(status.code(), tonic::Code::InvalidArgument);
        assert!(
            status.message().contains("property privileges"),
            "{}",
            status.message()
        );
    }

    #[test]
    fn a_shallow_request_decodes_and_depth_is_counted_per_list() {
        let request = decode(check_request_with("tags", &nested_list_bytes(3))).expect("decodes");
        let news: Struct = request.news.expect("news");
        assert!(news.fields.contains_key("tags"));
        assert_eq!(value_depth(&nested_list_bytes(7)), 7);
        assert_eq!(
            too_deep_property(&check_request_with("x", &nested_list_bytes(3))),
            None
        );
    }

    #[test]
    fn garbage_is_an_invalid_argument_too() {
        let status = decode(vec![0xff, 0xff, 0xff]).expect_err("not a message");
        assert_eq!(status.code(), tonic::Code::InvalidArgument);
    }
}
