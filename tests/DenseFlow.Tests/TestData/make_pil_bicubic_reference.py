"""Writes pil-bicubic-299.csv: what PIL (the resize clean-fid's "clean" mode uses) makes of a small
7-row x 6-column float image resized to 299x299 with Image.BICUBIC in mode 'F', at a few positions.
The tests compare our resize with these values. Run: /usr/bin/python3 make_pil_bicubic_reference.py
"""
import numpy as np
from PIL import Image

h, w = 7, 6
x = np.array([[(37 * i + 11 * j * j) % 256 for j in range(w)] for i in range(h)], dtype=np.float32)
out = np.asarray(Image.fromarray(x, mode="F").resize((299, 299), resample=Image.BICUBIC))
with open("pil-bicubic-299.csv", "w") as f:
    f.write("row,column,value\n")
    for r in [0, 1, 2, 21, 42, 100, 149, 150, 200, 257, 297, 298]:
        for c in [0, 1, 24, 25, 49, 50, 99, 150, 222, 249, 298]:
            f.write(f"{r},{c},{out[r, c]:.9g}\n")
print(Image.__version__ if hasattr(Image, "__version__") else "", out.dtype, out.min(), out.max())
