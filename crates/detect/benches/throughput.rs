//! Detector throughput per container format on large in-memory images (MB/s = criterion's
//! "thrpt"). Inputs are synthetic but structurally valid, with random (incompressible) pixel data so
//! the walkers see realistic byte statistics. Run: `cargo bench -p stowaway-detect`.
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use stowaway_detect::inspect;

const SIZE: usize = 32 << 20;

/// xorshift: deterministic noise without a rand dependency.
fn noise(n: usize, mut s: u64) -> Vec<u8> {
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s >> 24) as u8
        })
        .collect()
}

fn png() -> Vec<u8> {
    let chunk = |out: &mut Vec<u8>, ty: &[u8], data: &[u8]| {
        out.extend((data.len() as u32).to_be_bytes());
        out.extend(ty);
        out.extend(data);
        out.extend([0, 0, 0, 0]); // CRC is not checked on the hot path
    };
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    chunk(&mut out, b"IHDR", &[0, 0, 16, 0, 0, 0, 16, 0, 8, 2, 0, 0, 0]);
    for part in noise(SIZE, 1).chunks(1 << 16) {
        chunk(&mut out, b"IDAT", part);
    }
    chunk(&mut out, b"IEND", &[]);
    out
}

fn jpeg() -> Vec<u8> {
    let mut out = vec![0xff, 0xd8, 0xff, 0xe0, 0, 16];
    out.extend(b"JFIF\0\x01\x01\0\0\x01\0\x01\0\0");
    out.extend([0xff, 0xdb, 0, 67, 0]);
    out.extend([1u8; 64]);
    out.extend([0xff, 0xc0, 0, 17, 8, 0x10, 0, 0x10, 0, 3, 1, 0x22, 0, 2, 0x11, 0, 3, 0x11, 0]);
    out.extend([0xff, 0xc4, 0, 20, 0]);
    out.extend([0u8, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    out.extend([0xff, 0xda, 0, 12, 3, 1, 0, 2, 0x11, 3, 0x11, 0, 63, 0]);
    // Entropy-coded data: byte-stuffed, with a restart marker every 4 KiB as encoders write them.
    for (i, b) in noise(SIZE, 2).into_iter().enumerate() {
        out.push(b);
        if b == 0xff {
            out.push(0);
        }
        if i % 4096 == 4095 {
            out.extend([0xff, 0xd0 + ((i / 4096) % 8) as u8]);
        }
    }
    out.extend([0xff, 0xd9]);
    out
}

fn gif() -> Vec<u8> {
    let mut out = b"GIF89a\x00\x10\x00\x10\x80\x00\x00".to_vec();
    out.extend([0u8; 6]);
    out.extend([0x2c, 0, 0, 0, 0, 0, 0x10, 0, 0x10, 0, 8]);
    for part in noise(SIZE, 3).chunks(255) {
        out.push(part.len() as u8);
        out.extend(part);
    }
    out.extend([0, 0x3b]);
    out
}

fn bmp() -> Vec<u8> {
    let (w, h) = (4096u32, (SIZE / (4096 * 3)) as u32);
    let pixels = (w * 3).div_ceil(4) * 4 * h;
    let mut out = b"BM".to_vec();
    out.extend((54 + pixels).to_le_bytes());
    out.extend([0, 0, 0, 0, 54, 0, 0, 0, 40, 0, 0, 0]);
    out.extend(w.to_le_bytes());
    out.extend(h.to_le_bytes());
    out.extend([1, 0, 24, 0, 0, 0, 0, 0]);
    out.extend(pixels.to_le_bytes());
    out.extend([0u8; 16]);
    out.extend(noise(pixels as usize, 4));
    out
}

fn tiff() -> Vec<u8> {
    let strips = 512u32;
    let strip = (SIZE as u32) / strips;
    let mut out = b"II*\0\x08\0\0\0".to_vec();
    let ifd_len = 2 + 3 * 12 + 4;
    let offsets_at = 8 + ifd_len;
    let counts_at = offsets_at + 4 * strips;
    let data_at = counts_at + 4 * strips;
    out.extend(3u16.to_le_bytes());
    for (tag, ty, count, value) in
        [(256u16, 4u16, 1u32, 4096u32), (273, 4, strips, offsets_at), (279, 4, strips, counts_at)]
    {
        out.extend(tag.to_le_bytes());
        out.extend(ty.to_le_bytes());
        out.extend(count.to_le_bytes());
        out.extend(value.to_le_bytes());
    }
    out.extend(0u32.to_le_bytes());
    (0..strips).for_each(|i| out.extend((data_at + i * strip).to_le_bytes()));
    (0..strips).for_each(|_| out.extend(strip.to_le_bytes()));
    out.extend(noise((strip * strips) as usize, 5));
    out
}

fn webp() -> Vec<u8> {
    let data = noise(SIZE, 6);
    let mut out = b"RIFF".to_vec();
    out.extend((4 + 8 + data.len() as u32).to_le_bytes());
    out.extend(b"WEBPVP8 ");
    out.extend((data.len() as u32).to_le_bytes());
    out.extend(data);
    out
}

fn png_with_ts() -> Vec<u8> {
    let mut out = png();
    out.truncate(out.len() - 12);
    out.extend([0, 0, 0, 0, b'I', b'E', b'N', b'D', 0xae, 0x42, 0x60, 0x82]);
    for (i, mut p) in noise(SIZE / 4, 7).chunks(188).map(|c| c.to_vec()).enumerate() {
        p[0] = 0x47;
        p[1] = if i == 0 { 0x40 } else { 0 };
        out.extend(p);
    }
    out
}

/// Worst case: a picture followed by incompressible unknown bytes, every one of which the payload
/// search must look at (the table-driven candidate scan plus each candidate's verification).
fn png_with_noise() -> Vec<u8> {
    let mut out = png();
    out.truncate(33); // signature + IHDR only
    out.extend([0, 0, 0, 0, b'I', b'E', b'N', b'D', 0xae, 0x42, 0x60, 0x82]);
    out.extend(noise(SIZE, 8));
    out
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("inspect");
    g.sample_size(20);
    type Make = fn() -> Vec<u8>;
    let inputs: [(&str, Make); 8] = [
        ("jpeg", jpeg),
        ("png", png),
        ("gif", gif),
        ("bmp", bmp),
        ("tiff", tiff),
        ("webp", webp),
        ("png+ts", png_with_ts),
        ("png+noise", png_with_noise),
    ];
    for (name, make) in inputs {
        let data = make();
        g.throughput(Throughput::Bytes(data.len() as u64));
        g.bench_with_input(BenchmarkId::from_parameter(name), &data, |b, d| b.iter(|| inspect(d)));
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
