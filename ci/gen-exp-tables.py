#!/usr/bin/env python3
"""The tables of engine/cpu/vmath.c, from their definitions (Python's decimal only).

expf (32 entries): bits of 2^(k/32) rounded to double, minus k << 47.
exp (128 pairs): T[k] = 2^(k/128) / H[k] - 1 rounded to double, and the bits of
H[k] = 2^(k/128) rounded to double, minus k << 45.
These are the tables of the exp/expf algorithm of ARM's optimized-routines (MIT),
which glibc 2.28+ ships as its exp and expf; tests/eng_vmath.c compares the results.
"""
import struct
from decimal import Decimal, getcontext

getcontext().prec = 80


def bits(d):
    return struct.unpack('<Q', struct.pack('<d', d))[0]


def rows(vals, per=4):
    out = []
    for i in range(0, len(vals), per):
        out.append('\t' + ' '.join('0x%016xull,' % v for v in vals[i:i + per]))
    return '\n'.join(out)


f32 = [(bits(float(Decimal(2) ** (Decimal(k) / 32))) - (k << 47)) % 2**64 for k in range(32)]
f64 = []
for k in range(128):
    exact = Decimal(2) ** (Decimal(k) / 128)
    h = float(exact)
    f64.append(bits(float(exact / Decimal(h) - 1)))
    f64.append((bits(h) - (k << 45)) % 2**64)
print('static const uint64_t expf_tab[32] = {\n%s\n};\n' % rows(f32))
print('static const uint64_t exp_tab[256] = {\n%s\n};' % rows(f64))
