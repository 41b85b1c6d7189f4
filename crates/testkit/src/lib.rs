//! Test support shared by the integration tests: small sample images made in code, and handles on
//! the real S3 servers that `scripts/start-services.sh` starts (s3s-fs: strict, no ACLs; moto:
//! ACLs). Tests fail with a clear message when the servers are not configured; they never skip.
pub mod cut;
pub mod minio;
pub mod receiver;

pub use cut::Cut;
pub use minio::MinioEvent;

use stowaway_objects::{ObjectStoreConfig, Objects};
use stowaway_wire::{AutoProcessResult, ProcessResult};

/// The request body of `shared/seed/ImageInspect-submit-task.txt`, byte for byte.
pub const SEED_REQUEST: &str = "<Request>
<Tag>ImageInspect</Tag>
<Input>
<Object>input/test.png</Object>
</Input>
<Operation>
<UserData>This is my data.</UserData>
<JobLevel>0</JobLevel>
</Operation>
<CallBack>http://callback.demo.com</CallBack>
<CallBackFormat>JSON</CallBackFormat>
</Request>";

/// The `ProcessResult` of Tencent's documented callback example (spec §4.1): a PNG carrying
/// MPEG-TS from byte 119, moved by AutoProcess.
pub fn tencent_example_process_result() -> ProcessResult {
    ProcessResult {
        pic_size: 304491,
        pic_type: "png".into(),
        suspicious: true,
        suspicious_begin_byte: Some(119),
        suspicious_end_byte: Some(304490),
        suspicious_size: Some(304372),
        suspicious_type: Some("MPEG-TS".into()),
        // Tencent's example has no confidence (Stowaway's extension): callbacks render it as is.
        suspicious_confidence: None,
        auto_process_result: Some(AutoProcessResult { code: "Success".into(), message: "Success".into() }),
    }
}

/// A valid 2×2 RGB PNG.
pub fn clean_png() -> Vec<u8> {
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    chunk(&mut png, b"IHDR", &[0, 0, 0, 2, 0, 0, 0, 2, 8, 2, 0, 0, 0]);
    // Two rows: filter byte 0 and two RGB pixels each, in one stored (uncompressed) deflate block.
    let raw: Vec<u8> = [[0u8, 200, 30, 30, 200, 30, 30]; 2].concat();
    let mut z = vec![0x78, 0x01, 0x01, raw.len() as u8, 0, !(raw.len() as u8), 0xff];
    z.extend(&raw);
    z.extend(adler32(&raw).to_be_bytes());
    chunk(&mut png, b"IDAT", &z);
    chunk(&mut png, b"IEND", &[]);
    png
}

/// A PNG with `packets` MPEG-TS packets after its end: the HLS-as-PNG abuse.
pub fn png_with_ts(packets: usize) -> Vec<u8> {
    let mut data = clean_png();
    for i in 0..packets {
        let mut p = vec![0x47, 0x40 | 0x01, 0x00, 0x10 | (i as u8 & 0x0f)];
        p.resize(188, 0xff);
        data.extend(p);
    }
    data
}

/// A PNG followed by `n` bytes no rule recognises (high, non-text, non-padding bytes from a
/// fixed-seed generator): the detector's `Unknown` trailer, confidence `possible`, from 32 bytes
/// on (README "What counts as suspicious").
pub fn png_with_noise(n: usize) -> Vec<u8> {
    let mut data = clean_png();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    data.extend((0..n).map(|_| 0x80 | ((rng.next_u64() >> 33) as u8 & 0x3f)));
    data
}

/// A PNG followed by a ZIP archive (one stored file: local header, central directory, end
/// record): a recognised payload, confidence `certain`.
pub fn png_with_zip() -> Vec<u8> {
    let mut data = clean_png();
    data.extend(zip_stored("payload.txt", b"hidden after the picture's IEND\n"));
    data
}

/// A clean PNG with a `kind` chunk holding `data` just before its `IEND`.
pub fn png_with_chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut png = clean_png();
    let iend = png.split_off(png.len() - 12);
    chunk(&mut png, kind, data);
    png.extend(iend);
    png
}

/// A ZIP archive holding one file, stored (not compressed).
pub fn zip_stored(name: &str, content: &[u8]) -> Vec<u8> {
    let (crc, size, name_len) = (crc32(content), content.len() as u32, name.len() as u16);
    // Version needed 2.0, no flags, method 0 (stored), 1980-01-01 00:00, then crc and sizes.
    let common = |z: &mut Vec<u8>| {
        for v in [20u16, 0, 0, 0, 0x21] {
            z.extend(v.to_le_bytes());
        }
        z.extend(crc.to_le_bytes());
        z.extend(size.to_le_bytes());
        z.extend(size.to_le_bytes());
        z.extend(name_len.to_le_bytes());
        z.extend(0u16.to_le_bytes()); // extra field length
    };
    let mut z = b"PK\x03\x04".to_vec();
    common(&mut z);
    z.extend(name.as_bytes());
    z.extend(content);
    let directory = z.len() as u32;
    z.extend(b"PK\x01\x02");
    z.extend(20u16.to_le_bytes()); // version made by
    common(&mut z);
    z.extend([0u8; 10]); // comment length, disk, internal attributes (2 bytes each), external (4)
    z.extend(0u32.to_le_bytes()); // the local header's offset
    z.extend(name.as_bytes());
    let directory_size = z.len() as u32 - directory;
    z.extend(b"PK\x05\x06");
    z.extend([0u8; 4]); // this disk, the directory's disk
    z.extend(1u16.to_le_bytes());
    z.extend(1u16.to_le_bytes());
    z.extend(directory_size.to_le_bytes());
    z.extend(directory.to_le_bytes());
    z.extend(0u16.to_le_bytes()); // comment length
    z
}

fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend((data.len() as u32).to_be_bytes());
    let start = out.len();
    out.extend(kind);
    out.extend(data);
    let crc = crc32(&out[start..]);
    out.extend(crc.to_be_bytes());
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= b as u32;
        for _ in 0..8 {
            crc = if crc & 1 != 0 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

fn adler32(data: &[u8]) -> u32 {
    let (mut a, mut b) = (1u32, 0u32);
    for &d in data {
        a = (a + d as u32) % 65521;
        b = (b + a) % 65521;
    }
    (b << 16) | a
}

/// Which test server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum S3Server {
    /// s3s-fs: strict signatures; refuses ACLs with 501.
    Strict,
    /// moto: implements object ACLs.
    WithAcls,
}

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: run the tests with scripts/test.sh, which starts the test servers")
    })
}

/// Connection settings for a test server, as the service would read them from its environment.
pub fn s3_config(server: S3Server) -> ObjectStoreConfig {
    let endpoint = match server {
        S3Server::Strict => env("STOWAWAY_TEST_S3_ENDPOINT"),
        S3Server::WithAcls => env("STOWAWAY_TEST_S3_ACL_ENDPOINT"),
    };
    ObjectStoreConfig {
        endpoint: Some(endpoint),
        region: "us-east-1".into(),
        access_key_id: env("STOWAWAY_TEST_AWS_ACCESS_KEY_ID"),
        secret_access_key: env("STOWAWAY_TEST_AWS_SECRET_ACCESS_KEY"),
        session_token: None,
        path_style: true,
        quick_ack: true,
    }
}

/// A client for `server` and a fresh bucket of its own, named like Tencent's (`<name>-<appid>`).
pub async fn fresh_bucket(server: S3Server) -> (Objects, String) {
    let objects = Objects::new(&s3_config(server));
    let bucket = format!("t{}-1250000000", &uuid::Uuid::new_v4().simple().to_string()[..12]);
    objects.create_bucket(&bucket).await.expect("creating a test bucket");
    (objects, bucket)
}

/// The Kafka-wire test broker (tansu) scripts/start-services.sh runs.
pub fn kafka_brokers() -> String {
    env("STOWAWAY_TEST_KAFKA_BROKERS")
}

/// The tansu binary, for tests that start and stop a broker of their own.
pub fn tansu_binary() -> String {
    env("STOWAWAY_TEST_TANSU")
}

/// A fixed-seed xorshift generator for deterministic hostile-input tests: a failure reproduces.
pub struct Rng(pub u64);

impl Rng {
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// Uniform-enough in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }

    pub fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }
}

/// Notes the `state` each row of `table` (`jobs` or `deliveries`) is inserted with, for
/// [`inserted_states`]: a row handed to a loop in the process is inserted leased (Running,
/// Sending), one that goes through the table and a claim is inserted waiting (Submitted, Pending).
pub async fn note_inserted_states(pool: &sqlx::PgPool, table: &str) {
    sqlx::raw_sql(&format!(
        "CREATE TABLE inserted (state smallint);
         CREATE FUNCTION note_insert() RETURNS trigger LANGUAGE plpgsql
             AS $$ BEGIN INSERT INTO inserted VALUES (NEW.state); RETURN NULL; END $$;
         CREATE TRIGGER note_insert AFTER INSERT ON {table} FOR EACH ROW EXECUTE FUNCTION note_insert();"
    ))
    .execute(pool)
    .await
    .expect("the insert trigger");
}

/// The states noted by [`note_inserted_states`], in insert order.
pub async fn inserted_states(pool: &sqlx::PgPool) -> Vec<i16> {
    sqlx::query_scalar("SELECT state FROM inserted").fetch_all(pool).await.expect("the noted states")
}
