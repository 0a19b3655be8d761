#!/usr/bin/env python3
"""Reference values for backbone's ResNetV2 tests: one training-mode forward and backward
pass and one inference-mode forward pass, in PyTorch, of two narrow pre-activation ResNets
with a 10-class dense head "<model>/head":

  cifar/     ResNetV2(11, BaseFilters(4)): Keras' cifar10_resnet resnet_v2 (stem conv-BN-ReLU,
             bottleneck blocks bn-relu-conv1x1, bn-relu-conv3x3, bn-relu-conv1x1, the first
             block of stack 0 without its leading bn-relu, 1x1 conv shortcuts on block 0,
             final BN-ReLU), 'same' padding with TensorFlow's split, BN epsilon 1e-3;
             input [4,3,16,16].
  imagenet/  ResNet50V2(BaseFilters(2)): Keras applications' ResNet50V2 layout (7x7/2 stem
             with bias, 3x3/2 max pool padding 1 whose padding never wins, stacks of 3,4,6,3
             blocks, stride on the last block of stacks 0-2, 1x1 max-pool shortcut there, conv
             shortcut from the pre-activation on block 0, conv1/conv2 without bias),
             BN epsilon 1.001e-5; input [4,3,48,48].

Run with Debian's python3-torch:  /usr/bin/python3 resnetv2_ref.py
Writes resnetv2_ref.safetensors beside this script. For each model m, tensors:
  m/<param>          the weights, named as selfsup's nn.Params names them under scope m
  m/input, m/labels  (labels as float32 class indices)
  m/logits_train, m/loss, m/grad/m/<param>   training mode (batch statistics)
  m/logits_eval      inference mode (the moving statistics stored as weights)
  m/f32err/<output>  [1], the norm-wise relative error of float32 PyTorch on that output
The weights and inputs are float32 draws; the outputs are computed in float64 from them.
"""
import json, os, struct
import torch
import torch.nn.functional as F



class Model:
    def __init__(self, prefix, eps, dtype):
        self.prefix, self.eps, self.dtype = prefix, eps, dtype
        self.params, self.order = {}, []
        self.training = True

    def p(self, name, shape, kind):
        name = self.prefix + "/" + name
        if name in self.params:
            return self.params[name]
        if kind == "kernel":
            fan_in = 1
            for d in shape[1:]:
                fan_in *= d
            t = torch.randn(*shape) * (2.0 / fan_in) ** 0.5
        elif kind == "gamma":
            t = 1 + 0.2 * torch.randn(*shape)
        elif kind == "moving_variance":
            t = 0.5 + torch.rand(*shape)
        else:  # bias, beta, moving_mean
            t = 0.1 * torch.randn(*shape)
        # Drawn in float32 (the values the Go test loads), computed in self.dtype.
        t = t.to(self.dtype).requires_grad_(kind not in ("moving_mean", "moving_variance"))
        self.params[name] = t
        self.order.append(name)
        return t

    def conv(self, x, name, cout, k, s, pad, bias=True):
        """pad: 'same' (TensorFlow's split) or an int for symmetric explicit padding."""
        w = self.p(name + "/kernel", (cout, x.shape[1], k, k), "kernel")
        b = self.p(name + "/bias", (cout,), "bias") if bias else None
        if pad == "same":
            h = x.shape[2]
            out = -(-h // s)
            total = max((out - 1) * s + k - h, 0)
            x = F.pad(x, (total // 2, total - total // 2, total // 2, total - total // 2))
        elif pad:
            x = F.pad(x, (pad, pad, pad, pad))
        return F.conv2d(x, w, b, stride=s)

    def bn(self, x, name):
        c = x.shape[1]
        g = self.p(name + "/gamma", (c,), "gamma")
        be = self.p(name + "/beta", (c,), "beta")
        mm = self.p(name + "/moving_mean", (c,), "moving_mean")
        mv = self.p(name + "/moving_variance", (c,), "moving_variance")
        if self.training:
            mean, var = x.mean(dim=(0, 2, 3)), x.var(dim=(0, 2, 3), unbiased=False)
        else:
            mean, var = mm, mv
        xhat = (x - mean[None, :, None, None]) / torch.sqrt(var[None, :, None, None] + self.eps)
        return xhat * g[None, :, None, None] + be[None, :, None, None]

    def head(self, f):
        w = self.p("head/kernel", (f.shape[1], 10), "kernel")
        b = self.p("head/bias", (10,), "bias")
        return f @ w + b


def cifar_v2(m, x, n=1, base=4):
    x = F.relu(m.bn(m.conv(x, "stem/conv", base, 3, 1, "same"), "stem/bn"))
    fin = base
    for stack in range(3):
        fout = fin * 4 if stack == 0 else fin * 2
        for block in range(n):
            s = 2 if stack > 0 and block == 0 else 1
            p = f"stack{stack}/block{block}"
            y = x
            if stack > 0 or block > 0:
                y = F.relu(m.bn(y, p + "/bn1"))
            y = m.conv(y, p + "/conv1", fin, 1, s, "same")
            y = m.conv(F.relu(m.bn(y, p + "/bn2")), p + "/conv2", fin, 3, 1, "same")
            y = m.conv(F.relu(m.bn(y, p + "/bn3")), p + "/conv3", fout, 1, 1, "same")
            if block == 0:
                x = m.conv(x, p + "/shortcut", fout, 1, s, "same")
            x = x + y
        fin = fout
    x = F.relu(m.bn(x, "post_bn"))
    return m.head(x.mean(dim=(2, 3)))


def imagenet_v2(m, x, base=2):
    x = m.conv(x, "stem/conv", base, 7, 2, 3)
    x = F.max_pool2d(x, 3, 2, padding=1)
    blocks = [3, 4, 6, 3]
    for stack, n in enumerate(blocks):
        f = base << stack
        for block in range(n):
            s = 2 if block == n - 1 and stack < len(blocks) - 1 else 1
            p = f"stack{stack}/block{block}"
            pre = F.relu(m.bn(x, p + "/preact_bn"))
            if block == 0:
                sc = m.conv(pre, p + "/shortcut", 4 * f, 1, s, 0)
            elif s > 1:
                sc = F.max_pool2d(x, 1, s)
            else:
                sc = x
            y = F.relu(m.bn(m.conv(pre, p + "/conv1", f, 1, 1, 0, bias=False), p + "/bn1"))
            y = F.relu(m.bn(m.conv(y, p + "/conv2", f, 3, s, 1, bias=False), p + "/bn2"))
            y = m.conv(y, p + "/conv3", 4 * f, 1, 1, 0)
            x = sc + y
    x = F.relu(m.bn(x, "post_bn"))
    return m.head(x.mean(dim=(2, 3)))


def reference(dtype):
    """Runs both models on float32 draws (the same for every dtype), computing in dtype."""
    torch.manual_seed(56)
    out = {}
    for prefix, eps, net, shape in [("cifar", 1e-3, cifar_v2, (4, 3, 16, 16)),
                                    ("imagenet", 1.001e-5, imagenet_v2, (4, 3, 48, 48))]:
        m = Model(prefix, eps, dtype)
        x = torch.rand(*shape).to(dtype)
        labels = torch.randint(0, 10, (shape[0],))
        logits = net(m, x)
        loss = F.cross_entropy(logits, labels)
        loss.backward()
        m.training = False
        with torch.no_grad():
            logits_eval = net(m, x)
        for name in m.order:
            out[name] = m.params[name].detach()
        out[prefix + "/input"] = x
        out[prefix + "/labels"] = labels.float()
        out[prefix + "/logits_train"] = logits.detach()
        out[prefix + "/loss"] = loss.detach().reshape(1)
        out[prefix + "/logits_eval"] = logits_eval
        for name in m.order:
            if m.params[name].grad is not None:
                out[prefix + "/grad/" + name] = m.params[name].grad
    return out


# The reference is computed in float64 from the float32 weights and inputs: the exact
# answer for the stored values, not one float32 rounding of it. The gradients of a deep
# pre-activation network with 2-channel layers, tiny maps and BN epsilon 1e-5 are badly
# conditioned: float32 PyTorch itself is up to ~1e-3 from the float64 answer on some. The
# Go test allows each tensor an error relative to PyTorch's own float32 error, stored as
# m/f32err/<name> ([1]: ||torch_f32 - torch_f64|| / ||torch_f64||).
out = reference(torch.float64)
out32 = reference(torch.float32)
errs = {}
for name, want in out.items():
    prefix = name.split("/")[0]
    rest = name[len(prefix) + 1:]
    if not (rest.startswith("grad/") or rest.startswith("logits") or rest == "loss"):
        continue
    if rest.startswith("grad/") and name.endswith("/bias") and not name.endswith("head/bias"):
        continue  # zero in exact arithmetic: a training-mode BN follows every conv bias
    errs[prefix + "/f32err/" + rest] = ((out32[name].double() - want).norm() / want.norm()).reshape(1)
for prefix in ("cifar", "imagenet"):
    worst = max((float(v), k) for k, v in errs.items() if k.startswith(prefix + "/"))
    print(f"{prefix}: float32 PyTorch vs float64: worst relative error {worst[0]:.3g} ({worst[1]})")
out.update(errs)

header, blobs, off = {}, [], 0
for name, t in out.items():
    b = t.contiguous().float().numpy().tobytes()
    header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [off, off + len(b)]}
    blobs.append(b)
    off += len(b)
header["__metadata__"] = {"generator": "resnetv2_ref.py", "torch": torch.__version__}
h = json.dumps(header, separators=(",", ":")).encode()
h += b" " * (-len(h) % 8)
path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "resnetv2_ref.safetensors")
with open(path, "wb") as f:
    f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))
print(path, off, "bytes of tensors")
