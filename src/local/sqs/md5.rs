//! The digests SQS returns so clients can check what arrived: `MD5OfMessageBody` over the
//! body's UTF-8 bytes, and `MD5OfMessageAttributes` over the attributes encoded as SQS
//! documents it (names sorted; name, data type and value each prefixed by its 4-byte
//! big-endian length; before the value a transport byte, 1 for strings, 2 for binary).

use std::collections::BTreeMap;

use md5::{Digest, Md5};

use super::message::AttributeValue;

pub fn md5_of_body(body: &str) -> String {
    hex::encode(Md5::digest(body.as_bytes()))
}

/// `None` when there are no attributes (SQS then omits the member). Message system
/// attributes (`MD5OfMessageSystemAttributes`) are digested the same way.
pub fn md5_of_attributes(attributes: &BTreeMap<String, AttributeValue>) -> Option<String> {
    if attributes.is_empty() {
        return None;
    }
    let mut buffer = Vec::new();
    let push = |buffer: &mut Vec<u8>, bytes: &[u8]| {
        buffer.extend_from_slice(&(bytes.len() as u32).to_be_bytes());
        buffer.extend_from_slice(bytes);
    };
    for (name, value) in attributes {
        push(&mut buffer, name.as_bytes());
        push(&mut buffer, value.data_type.as_bytes());
        if let Some(binary) = value.binary_bytes() {
            buffer.push(2);
            push(&mut buffer, &binary);
        } else if let Some(text) = &value.string_value {
            buffer.push(1);
            push(&mut buffer, text.as_bytes());
        }
    }
    Some(hex::encode(Md5::digest(&buffer)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_digest_is_plain_md5() {
        assert_eq!(md5_of_body("hello"), "5d41402abc4b2a76b9719d911017c592");
    }

    #[test]
    fn attribute_digest_matches_the_documented_encoding() {
        let mut attributes = BTreeMap::new();
        attributes.insert(
            "a".to_string(),
            AttributeValue {
                data_type: "String".into(),
                string_value: Some("b".into()),
                binary_value: None,
            },
        );
        let mut expected = Vec::new();
        expected.extend_from_slice(&[0, 0, 0, 1, b'a', 0, 0, 0, 6]);
        expected.extend_from_slice(b"String");
        expected.extend_from_slice(&[1, 0, 0, 0, 1, b'b']);
        assert_eq!(
            md5_of_attributes(&attributes),
            Some(hex::encode(Md5::digest(&expected)))
        );
        assert_eq!(md5_of_attributes(&BTreeMap::new()), None);
    }
}
