//! What a broker stored, read from its bucket instead of consumed back: tansu's S3 engine keeps
//! each produced record batch as one `.batch` object under the topic's folder, and serves an
//! hour's topic at about 2 messages/s on s3s-fs, too slow to read back in an audit (RELIABILITY.md).
//! A batch it stored is one it acknowledged or was about to; one it lost is simply absent.
use stowaway_objects::Objects;

/// The key of every record in the `.batch` objects of `topic` in `bucket`.
pub async fn stored_keys(objects: &Objects, bucket: &str, topic: &str) -> Result<Vec<String>, String> {
    let (mut keys, mut next) = (Vec::new(), None);
    loop {
        let page = objects.list_page(bucket, "", next.as_deref(), 1000).await.map_err(|e| e.to_string())?;
        for o in page.objects.iter().filter(|o| o.key.ends_with(".batch")) {
            if !o.key.split('/').any(|folder| folder == topic) {
                continue;
            }
            let bytes = objects.fetch(bucket, &o.key).await.map_err(|e| e.to_string())?;
            keys.extend(record_keys(&bytes).map_err(|e| format!("{}: {e}", o.key))?);
        }
        match page.next {
            Some(n) => next = Some(n),
            None => return Ok(keys),
        }
    }
}

/// The record keys of Kafka v2 record batches laid end to end (an absent key reads as "").
fn record_keys(mut bytes: &[u8]) -> Result<Vec<String>, String> {
    let mut keys = Vec::new();
    while !bytes.is_empty() {
        // baseOffset 8, batchLength 4, partitionLeaderEpoch 4, magic 1, crc 4, attributes 2,
        // lastOffsetDelta 4, two timestamps 16, producer id 8, epoch 2, base sequence 4, count 4.
        let batch_len = 12 + be_i32(bytes, 8)? as usize;
        let batch = bytes.get(..batch_len).ok_or("a batch cut short")?;
        if batch.get(16) != Some(&2) {
            return Err("not a v2 record batch".into());
        }
        if be_i16(batch, 21)? & 7 != 0 {
            return Err("compressed records (the notifier sends none)".into());
        }
        let mut at = 61;
        for _ in 0..be_i32(batch, 57)? {
            let length = varint(batch, &mut at)?;
            let end = at + length as usize;
            at += 1; // attributes
            varint(batch, &mut at)?; // timestamp delta
            varint(batch, &mut at)?; // offset delta
            let key_len = varint(batch, &mut at)?.max(0) as usize;
            let key = batch.get(at..at + key_len).ok_or("a key cut short")?;
            keys.push(String::from_utf8_lossy(key).into_owned());
            at = end;
        }
        bytes = &bytes[batch_len..];
    }
    Ok(keys)
}

fn be_i32(b: &[u8], at: usize) -> Result<i32, String> {
    Ok(i32::from_be_bytes(b.get(at..at + 4).ok_or("cut short")?.try_into().unwrap()))
}

fn be_i16(b: &[u8], at: usize) -> Result<i16, String> {
    Ok(i16::from_be_bytes(b.get(at..at + 2).ok_or("cut short")?.try_into().unwrap()))
}

/// A zigzag varint, as records encode their fields.
fn varint(b: &[u8], at: &mut usize) -> Result<i64, String> {
    let (mut raw, mut shift) = (0u64, 0);
    loop {
        let byte = *b.get(*at).ok_or("a varint cut short")?;
        *at += 1;
        raw |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Ok((raw >> 1) as i64 ^ -((raw & 1) as i64));
        }
        shift += 7;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A v2 batch as Kafka's protocol guide lays it out, records with the given keys.
    fn batch(keys: &[Option<&str>]) -> Vec<u8> {
        let mut records = Vec::new();
        for (i, key) in keys.iter().enumerate() {
            let mut r = vec![0u8, 0, i as u8 * 2]; // attributes, timestamp delta 0, offset delta i
            match key {
                Some(k) => {
                    r.push(k.len() as u8 * 2);
                    r.extend(k.as_bytes());
                }
                None => r.push(1), // -1: no key
            }
            r.extend([6, b'x', b'y', b'z', 0]); // value "xyz", no headers
            records.push(r.len() as u8 * 2);
            records.extend(r);
        }
        let mut b = vec![0u8; 61];
        b[16] = 2;
        b[57..61].copy_from_slice(&(keys.len() as i32).to_be_bytes());
        b.extend(records);
        let len = (b.len() - 12) as i32;
        b[8..12].copy_from_slice(&len.to_be_bytes());
        b
    }

    #[test]
    fn reads_every_key_of_batches_laid_end_to_end() {
        let mut bytes = batch(&[Some("job-1"), None]);
        bytes.extend(batch(&[Some("job-2")]));
        assert_eq!(record_keys(&bytes).unwrap(), ["job-1", "", "job-2"]);
    }

    #[test]
    fn refuses_what_it_cannot_read() {
        let mut old = batch(&[Some("a")]);
        old[16] = 1;
        assert!(record_keys(&old).is_err());
        let whole = batch(&[Some("a")]);
        assert!(record_keys(&whole[..whole.len() - 3]).is_err());
    }

    #[test]
    fn zigzag_varints_decode_signed() {
        for (bytes, want) in [(&[0x00][..], 0), (&[0x01], -1), (&[0x02], 1), (&[0xac, 0x02], 150)] {
            assert_eq!(varint(bytes, &mut 0).unwrap(), want);
        }
    }
}
