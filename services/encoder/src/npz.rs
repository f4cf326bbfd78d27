//! Reads the arrays of a NumPy `.npz` file: a zip archive of `.npy` arrays, each stored or deflated.
//!
//! Only what `numpy.savez_compressed` writes is accepted: little-endian arrays in C order, in a zip
//! without multi-disk or 64-bit offsets. Each member's CRC-32 is checked, so a truncated or altered
//! download fails here rather than giving wrong vectors. Formats: the zip application note
//! (PKWARE APPNOTE 6.3) and NEP 1 (the `.npy` format).

use std::collections::HashMap;

const END_OF_DIRECTORY: u32 = 0x0605_4b50;
const DIRECTORY_ENTRY: u32 = 0x0201_4b50;
const LOCAL_HEADER: u32 = 0x0403_4b50;
const STORED: u16 = 0;
const DEFLATED: u16 = 8;

/// An open `.npz`: the archive's bytes and where each member lies in them.
pub(crate) struct Npz {
    bytes: Vec<u8>,
    members: HashMap<String, Member>,
}

struct Member {
    method: u16,
    crc: u32,
    compressed_size: usize,
    size: usize,
    local_header: usize,
}

/// One array: its element type as NumPy spells it (`<f4`, `|u1`), its shape and its raw bytes.
pub(crate) struct Array {
    pub(crate) descr: String,
    pub(crate) shape: Vec<usize>,
    pub(crate) data: Vec<u8>,
}

impl Npz {
    /// Indexes the archive's central directory; members are inflated only when asked for.
    pub(crate) fn parse(bytes: Vec<u8>) -> Result<Self, String> {
        let search_from = bytes.len().saturating_sub(22 + usize::from(u16::MAX));
        let end = (search_from..bytes.len().saturating_sub(21))
            .rev()
            .find(|&at| read_u32(&bytes, at) == Some(END_OF_DIRECTORY))
            .ok_or("not a zip archive: no end-of-directory record")?;
        let count = read_u16(&bytes, end + 10).ok_or("truncated end-of-directory record")?;
        let directory = read_u32(&bytes, end + 16).ok_or("truncated end-of-directory record")?;
        if directory == u32::MAX || count == u16::MAX {
            return Err("zip64 archives are not supported".into());
        }
        let mut members = HashMap::new();
        let mut at = directory as usize;
        for _ in 0..count {
            let field = |offset: usize| read_u32(&bytes, at + offset);
            let short = |offset: usize| read_u16(&bytes, at + offset);
            if field(0) != Some(DIRECTORY_ENTRY) {
                return Err(format!("bad central directory entry at byte {at}"));
            }
            let truncated = || format!("truncated central directory entry at byte {at}");
            let method = short(10).ok_or_else(truncated)?;
            let crc = field(16).ok_or_else(truncated)?;
            let compressed_size = field(20).ok_or_else(truncated)?;
            let size = field(24).ok_or_else(truncated)?;
            let name_length = usize::from(short(28).ok_or_else(truncated)?);
            let extra_length = usize::from(short(30).ok_or_else(truncated)?);
            let comment_length = usize::from(short(32).ok_or_else(truncated)?);
            let local_header = field(42).ok_or_else(truncated)?;
            if [compressed_size, size, local_header].contains(&u32::MAX) {
                return Err("zip64 members are not supported".into());
            }
            let name = bytes.get(at + 46..at + 46 + name_length).ok_or_else(truncated)?;
            let name = String::from_utf8_lossy(name).into_owned();
            members.insert(
                name,
                Member {
                    method,
                    crc,
                    compressed_size: compressed_size as usize,
                    size: size as usize,
                    local_header: local_header as usize,
                },
            );
            at += 46 + name_length + extra_length + comment_length;
        }
        Ok(Self { bytes, members })
    }

    /// Inflates and decodes the array saved under `name` (`np.savez(file, name=array)`).
    pub(crate) fn array(&self, name: &str) -> Result<Array, String> {
        let member_name = format!("{name}.npy");
        let member = self
            .members
            .get(&member_name)
            .ok_or_else(|| format!("no array {name:?} in the archive"))?;
        let content = self
            .member_bytes(member)
            .map_err(|reason| format!("array {name:?}: {reason}"))?;
        parse_npy(content).map_err(|reason| format!("array {name:?}: {reason}"))
    }

    fn member_bytes(&self, member: &Member) -> Result<Vec<u8>, String> {
        let header = member.local_header;
        if read_u32(&self.bytes, header) != Some(LOCAL_HEADER) {
            return Err("bad local header".into());
        }
        let name_length = read_u16(&self.bytes, header + 26).ok_or("truncated local header")?;
        let extra_length = read_u16(&self.bytes, header + 28).ok_or("truncated local header")?;
        let start = header + 30 + usize::from(name_length) + usize::from(extra_length);
        let stored = self
            .bytes
            .get(start..start + member.compressed_size)
            .ok_or("member runs past the end of the archive")?;
        let content = match member.method {
            STORED => stored.to_vec(),
            DEFLATED => miniz_oxide::inflate::decompress_to_vec_with_limit(stored, member.size)
                .map_err(|error| format!("cannot inflate: {error}"))?,
            other => return Err(format!("unsupported compression method {other}")),
        };
        if content.len() != member.size {
            return Err(format!(
                "inflated to {} bytes, the directory says {}",
                content.len(),
                member.size
            ));
        }
        if crc32fast::hash(&content) != member.crc {
            return Err("CRC-32 mismatch: the file is damaged".into());
        }
        Ok(content)
    }
}

/// Decodes a `.npy` file (format versions 1 to 3): magic, header length, a Python dict literal
/// such as `{'descr': '<f4', 'fortran_order': False, 'shape': (512, 256), }`, then the data.
fn parse_npy(content: Vec<u8>) -> Result<Array, String> {
    if !content.starts_with(b"\x93NUMPY") || content.len() < 10 {
        return Err("not a .npy array".into());
    }
    let (header_length, header_start) = match content[6] {
        1 => (usize::from(read_u16(&content, 8).ok_or("truncated header")?), 10),
        2 | 3 => (read_u32(&content, 8).ok_or("truncated header")? as usize, 12),
        version => return Err(format!(".npy format version {version} is not supported")),
    };
    let data_start = header_start + header_length;
    let header = content.get(header_start..data_start).ok_or("truncated header")?;
    let header = String::from_utf8_lossy(header);
    let descr = dict_value(&header, "descr")?.trim_matches('\'').to_string();
    if dict_value(&header, "fortran_order")? != "False" {
        return Err("Fortran-ordered arrays are not supported".into());
    }
    let shape_text = dict_value(&header, "shape")?;
    let shape = shape_text
        .trim_start_matches('(')
        .trim_end_matches(')')
        .split(',')
        .map(str::trim)
        .filter(|dimension| !dimension.is_empty())
        .map(|dimension| {
            dimension
                .parse::<usize>()
                .map_err(|_| format!("bad shape {shape_text}"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let data = content[data_start..].to_vec();
    Ok(Array { descr, shape, data })
}

/// The text of one value in the header's dict: up to the next `,` outside parentheses, or `}`.
fn dict_value<'header>(header: &'header str, key: &str) -> Result<&'header str, String> {
    let pattern = format!("'{key}':");
    let start = header
        .find(&pattern)
        .map(|at| at + pattern.len())
        .ok_or_else(|| format!("no {key:?} in the .npy header"))?;
    let rest = header[start..].trim_start();
    let mut depth = 0_i32;
    let end = rest
        .char_indices()
        .find(|&(_, character)| {
            match character {
                '(' => depth += 1,
                ')' => depth -= 1,
                _ => {}
            }
            depth == 0 && (character == ',' || character == '}')
        })
        .map_or(rest.len(), |(at, _)| at);
    Ok(rest[..end].trim())
}

fn read_u16(bytes: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(bytes.get(at..at + 2)?.try_into().ok()?))
}

fn read_u32(bytes: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(bytes.get(at..at + 4)?.try_into().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_header_of_a_two_dimensional_float_array() {
        let header = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
        let mut content = b"\x93NUMPY\x01\x00".to_vec();
        content.extend_from_slice(&(header.len() as u16).to_le_bytes());
        content.extend_from_slice(header.as_bytes());
        content.extend_from_slice(&[0; 24]);
        let array = parse_npy(content).expect("a valid header");
        assert_eq!(array.descr, "<f4");
        assert_eq!(array.shape, vec![2, 3]);
        assert_eq!(array.data.len(), 24);
    }

    #[test]
    fn reads_the_empty_shape_of_a_scalar() {
        let header = "{'descr': '<f8', 'fortran_order': False, 'shape': (), }";
        assert_eq!(dict_value(header, "shape").expect("a shape"), "()");
    }

    #[test]
    fn rejects_fortran_ordered_arrays() {
        let header = "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }";
        let mut content = b"\x93NUMPY\x01\x00".to_vec();
        content.extend_from_slice(&(header.len() as u16).to_le_bytes());
        content.extend_from_slice(header.as_bytes());
        let error = parse_npy(content).err().expect("an error");
        assert!(error.contains("Fortran"), "{error}");
    }

    #[test]
    fn rejects_bytes_that_are_not_a_zip_archive() {
        let error = Npz::parse(vec![0; 100]).err().expect("an error");
        assert!(error.contains("not a zip archive"), "{error}");
    }
}
