#!/usr/bin/python3
"""Writes reference.json, the torchvision/scipy references of reference_test.go.

Run from this directory: /usr/bin/python3 gen_reference.py
(generated with Debian's python3-torch 1.13, python3-torchvision 0.14 and python3-scipy 1.10).

Every transform is applied with FIXED parameters (crop box, offsets, factors, permutation,
sigma) through torchvision's tensor functional API, and the Keras shift through
scipy.ndimage.affine_transform exactly as keras-preprocessing's apply_affine_transform calls
it (identity matrix, offset (tx, ty), order=1, mode="nearest"), so that the Go tests can apply
the same parameters through the package's deterministic kernels. Arrays are stored as
base64 of little-endian float32, NCHW (one image, CHW).
"""
import base64
import json

import numpy as np
import scipy
import scipy.ndimage as ndi
import torch
import torchvision
import torchvision.transforms as T
import torchvision.transforms.functional as F


def b64(a):
    return base64.b64encode(np.ascontiguousarray(a, dtype="<f4").tobytes()).decode("ascii")


def inputs():
    rs = np.random.RandomState(20260521)
    # Image 0: 3x32x32 pixels quantised to k/255 as decoded images are, with a gray patch
    # (r == g == b: hue's equal-channel branch), ties between the largest channels, and
    # pure black/white pixels.
    a = rs.randint(0, 256, size=(3, 32, 32)).astype(np.float32) / 255
    a[:, 4:9, 20:27] = a[0:1, 4:9, 20:27]
    a[1, 12:15, 3:10] = a[0, 12:15, 3:10]
    a[2, 20:23, 10:14] = a[1, 20:23, 10:14]
    a[:, 30, 0:4] = 0
    a[:, 31, 0:4] = 1
    # Image 1: 3x20x28, smooth gradients plus noise, not quantised.
    yy, xx = np.mgrid[0:20, 0:28].astype(np.float32)
    b = np.stack([
        0.5 + 0.4 * np.sin(xx / 4.0),
        0.5 + 0.4 * np.cos(yy / 3.0),
        (xx + yy) / 46.0,
    ]) + 0.08 * rs.standard_normal((3, 20, 28)).astype(np.float32)
    b = np.clip(b, 0, 1).astype(np.float32)
    return [a, b]


def keras_shift(x, tx, ty):
    # keras-preprocessing apply_affine_transform with a translation only:
    # transform_matrix_offset_center leaves a pure translation unchanged.
    m = np.array([[1, 0, tx], [0, 1, ty], [0, 0, 1]], dtype=np.float64)
    return np.stack([ndi.affine_transform(ch, m[:2, :2], m[:2, 2], order=1, mode="nearest", cval=0.0)
                     for ch in x])


def jitter(t, order, b, c, s, h):
    for fn in order:
        if fn == 0:
            t = F.adjust_brightness(t, b)
        elif fn == 1:
            t = F.adjust_contrast(t, c)
        elif fn == 2:
            t = F.adjust_saturation(t, s)
        else:
            t = F.adjust_hue(t, h)
    return t


def cases(imgs):
    out = []

    def add(op, i, params, y):
        out.append({"op": op, "input": i, "params": params, "out": b64(y)})

    for i, x in enumerate(imgs):
        t = torch.from_numpy(x.copy())
        c, h, w = x.shape
        add("hflip", i, {}, F.hflip(t).numpy())
        for pad, top, left in [(4, 0, 8), (4, 3, 1), (2, 4, 0)]:
            padded = F.pad(t, [pad, pad, pad, pad], fill=0, padding_mode="constant")
            add("padcrop", i, {"pad": pad, "top": top, "left": left}, F.crop(padded, top, left, h, w).numpy())
        for tx, ty in [(2.7, -1.3), (-3.2, 3.2), (0.5, 0.0), (0.0, -0.25), (-1.0, 2.0)]:
            add("shift", i, {"tx": tx, "ty": ty}, keras_shift(x, tx, ty))
        for top, left, ch, cw in [(3, 5, h - 8, w - 12), (0, 0, h, w), (10, 7, 5, 9), (1, 2, h - 1, 3), (0, w // 3, h // 2, w - w // 3)]:
            y = F.resized_crop(t, top, left, ch, cw, [h, w], interpolation=T.InterpolationMode.BILINEAR, antialias=False)
            add("rrc", i, {"top": top, "left": left, "height": ch, "width": cw}, y.numpy())
        for f in [0.0, 0.6, 1.4]:
            add("brightness", i, {"factor": f}, F.adjust_brightness(t, f).numpy())
        for f in [0.0, 0.6, 1.5]:
            add("contrast", i, {"factor": f}, F.adjust_contrast(t, f).numpy())
        for f in [0.0, 0.3, 1.8]:
            add("saturation", i, {"factor": f}, F.adjust_saturation(t, f).numpy())
        for f in [-0.5, -0.1, 0.07, 0.33, 0.5]:
            add("hue", i, {"factor": f}, F.adjust_hue(t, f).numpy())
        for order, fb, fc, fs, fh in [([2, 0, 3, 1], 1.3, 0.7, 1.2, -0.08), ([3, 1, 0, 2], 0.65, 1.35, 0.2, 0.1)]:
            add("jitter", i, {"order": order, "brightness": fb, "contrast": fc, "saturation": fs, "hue": fh},
                jitter(t, order, fb, fc, fs, fh).numpy())
        add("gray", i, {}, F.rgb_to_grayscale(t, num_output_channels=3).numpy())
        for k, sigma in [(3, 0.7), (9, 1.6), (9, 0.1)]:
            add("blur", i, {"kernel": k, "sigma": sigma}, F.gaussian_blur(t, [k, k], [sigma, sigma]).numpy())
        for thr in [0.5, 0.2]:
            add("solarize", i, {"threshold": thr}, F.solarize(t, thr).numpy())
    return out


def rrc_fallback():
    # Settings for which all 10 attempts fail, so get_params returns its deterministic
    # centre-crop fallback.
    res = []
    for h, w, scale, ratio in [(32, 32, (1.0, 1.0), (3.0, 4.0)), (32, 32, (1.0, 1.0), (0.2, 0.25)),
                               (20, 28, (1.0, 1.0), (2.0, 3.0)), (28, 20, (1.0, 1.0), (0.1, 0.3)),
                               (32, 32, (1.0, 1.0), (5.0, 7.0))]:
        top, left, ch, cw = T.RandomResizedCrop.get_params(torch.zeros(3, h, w), list(scale), list(ratio))
        res.append({"h": h, "w": w, "scale": list(scale), "ratio": list(ratio),
                    "top": top, "left": left, "height": ch, "width": cw})
    return res


def main():
    imgs = inputs()
    ref = {
        "versions": {"torch": torch.__version__, "torchvision": torchvision.__version__,
                     "scipy": scipy.__version__, "numpy": np.__version__},
        "inputs": [{"c": x.shape[0], "h": x.shape[1], "w": x.shape[2], "data": b64(x)} for x in imgs],
        "cases": cases(imgs),
        "rrc_fallback": rrc_fallback(),
    }
    with open("reference.json", "w") as f:
        json.dump(ref, f, indent=0)
        f.write("\n")


if __name__ == "__main__":
    main()
