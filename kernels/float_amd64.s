#include "textflag.h"

// Pieces shared by the windowed kernels below: a window is CX rows of R11
// steps; SI/BX walk the rows of input and weights (row strides R8, R10),
// R12/R13 the steps of one row (R14 counts them).

// WIN_EMPTY(label): jump to label when the window has no row or no step.
#define WIN_EMPTY(label) \
	TESTQ CX, CX;  \
	JLE   label;   \
	TESTQ R11, R11; \
	JLE   label

#define ROW_BEGIN \
	MOVQ SI, R12; \
	MOVQ BX, R13; \
	MOVQ R11, R14

// ROW_END(label): on to the next row, back to label while rows remain.
#define ROW_END(label) \
	ADDQ R8, SI;  \
	ADDQ R10, BX; \
	DECQ CX;      \
	JNZ  label

// LOADPD4 / STOREPD4: four registers from / to off(DI) onwards.
#define LOADPD4(off, a, b, c, d) \
	VMOVUPD off+0(DI), a;  \
	VMOVUPD off+32(DI), b; \
	VMOVUPD off+64(DI), c; \
	VMOVUPD off+96(DI), d

#define STOREPD4(off, a, b, c, d) \
	VMOVUPD a, off+0(DI);  \
	VMOVUPD b, off+32(DI); \
	VMOVUPD c, off+64(DI); \
	VMOVUPD d, off+96(DI)

// Packed float kernels (float_packed.go): AVX2 + FMA, four float64 lanes
// per register, each lane one output's sum in order.

// func convBlock2x16(a *[32]float64, x *float64, dx, xrow int, w *float64, ws, wrow, rows, n int)
TEXT ·convBlock2x16(SB), NOSPLIT, $0-72
	MOVQ a+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ dx+16(FP), DX
	SHLQ $3, DX
	MOVQ xrow+24(FP), R8
	SHLQ $3, R8
	MOVQ w+32(FP), BX
	MOVQ ws+40(FP), R9
	SHLQ $3, R9
	MOVQ wrow+48(FP), R10
	SHLQ $3, R10
	MOVQ rows+56(FP), CX
	MOVQ n+64(FP), R11
	LOADPD4(0, Y0, Y1, Y2, Y3)
	LOADPD4(128, Y4, Y5, Y6, Y7)
	WIN_EMPTY(done2)

row2:
	ROW_BEGIN

inner2:
	VBROADCASTSD (R12), Y8
	VBROADCASTSD (R12)(DX*1), Y9
	VMOVUPD      (R13), Y10
	VMOVUPD      32(R13), Y11
	VFMADD231PD  Y10, Y8, Y0
	VFMADD231PD  Y10, Y9, Y4
	VFMADD231PD  Y11, Y8, Y1
	VFMADD231PD  Y11, Y9, Y5
	VMOVUPD      64(R13), Y12
	VMOVUPD      96(R13), Y13
	VFMADD231PD  Y12, Y8, Y2
	VFMADD231PD  Y12, Y9, Y6
	VFMADD231PD  Y13, Y8, Y3
	VFMADD231PD  Y13, Y9, Y7
	ADDQ         $8, R12
	ADDQ         R9, R13
	DECQ         R14
	JNZ          inner2
	ROW_END(row2)

done2:
	STOREPD4(0, Y0, Y1, Y2, Y3)
	STOREPD4(128, Y4, Y5, Y6, Y7)
	VZEROUPPER
	RET

// func convBlock1x16(a *[32]float64, x *float64, xrow int, w *float64, ws, wrow, rows, n int)
TEXT ·convBlock1x16(SB), NOSPLIT, $0-64
	MOVQ a+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ xrow+16(FP), R8
	SHLQ $3, R8
	MOVQ w+24(FP), BX
	MOVQ ws+32(FP), R9
	SHLQ $3, R9
	MOVQ wrow+40(FP), R10
	SHLQ $3, R10
	MOVQ rows+48(FP), CX
	MOVQ n+56(FP), R11
	LOADPD4(0, Y0, Y1, Y2, Y3)
	WIN_EMPTY(done1)

row1:
	ROW_BEGIN

inner1:
	VBROADCASTSD (R12), Y8
	VFMADD231PD  (R13), Y8, Y0
	VFMADD231PD  32(R13), Y8, Y1
	VFMADD231PD  64(R13), Y8, Y2
	VFMADD231PD  96(R13), Y8, Y3
	ADDQ         $8, R12
	ADDQ         R9, R13
	DECQ         R14
	JNZ          inner1
	ROW_END(row1)

done1:
	STOREPD4(0, Y0, Y1, Y2, Y3)
	VZEROUPPER
	RET

// func depthwise16(a *[16]float64, x *float64, xcol, xrow int, w *float64, wcol, wrow, rows, cols int)
TEXT ·depthwise16(SB), NOSPLIT, $0-72
	MOVQ a+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ xcol+16(FP), DX
	SHLQ $3, DX
	MOVQ xrow+24(FP), R8
	SHLQ $3, R8
	MOVQ w+32(FP), BX
	MOVQ wcol+40(FP), R9
	SHLQ $3, R9
	MOVQ wrow+48(FP), R10
	SHLQ $3, R10
	MOVQ rows+56(FP), CX
	MOVQ cols+64(FP), R11
	LOADPD4(0, Y0, Y1, Y2, Y3)
	WIN_EMPTY(donedw)

rowdw:
	ROW_BEGIN

innerdw:
	VMOVUPD     (R12), Y8
	VMOVUPD     32(R12), Y9
	VMOVUPD     64(R12), Y10
	VMOVUPD     96(R12), Y11
	VFMADD231PD (R13), Y8, Y0
	VFMADD231PD 32(R13), Y9, Y1
	VFMADD231PD 64(R13), Y10, Y2
	VFMADD231PD 96(R13), Y11, Y3
	ADDQ        DX, R12
	ADDQ        R9, R13
	DECQ        R14
	JNZ         innerdw
	ROW_END(rowdw)

donedw:
	STOREPD4(0, Y0, Y1, Y2, Y3)
	VZEROUPPER
	RET

// The q7 kernels share these pieces (labels stay in each function).

// Q7DOT_INIT: filter pointers R9-R11 from filter 0 (BX) and k (R8); sums
// Y8-Y11 (pixel 0, filters 0-3) and Y12-Y15 (pixel 1) cleared.
#define Q7DOT_INIT \
	LEAQ  (BX)(R8*1), R9;   \
	LEAQ  (R9)(R8*1), R10;  \
	LEAQ  (R10)(R8*1), R11; \
	VPXOR Y8, Y8, Y8;       \
	VPXOR Y9, Y9, Y9;       \
	VPXOR Y10, Y10, Y10;    \
	VPXOR Y11, Y11, Y11;    \
	VPXOR Y12, Y12, Y12;    \
	VPXOR Y13, Y13, Y13;    \
	VPXOR Y14, Y14, Y14;    \
	VPXOR Y15, Y15, Y15

// Q7DOT_STEP: sixteen taps of both columns (SI, DX) against the four
// filters, then every pointer moves on.
#define Q7DOT_STEP \
	VPMOVSXBW (SI), Y0;   \
	VPMOVSXBW (DX), Y1;   \
	VPMOVSXBW (BX), Y2;   \
	VPMOVSXBW (R9), Y3;   \
	VPMADDWD  Y2, Y0, Y4; \
	VPMADDWD  Y2, Y1, Y5; \
	VPADDD    Y4, Y8, Y8; \
	VPADDD    Y5, Y12, Y12; \
	VPMADDWD  Y3, Y0, Y6; \
	VPMADDWD  Y3, Y1, Y7; \
	VPADDD    Y6, Y9, Y9; \
	VPADDD    Y7, Y13, Y13; \
	VPMOVSXBW (R10), Y2;  \
	VPMOVSXBW (R11), Y3;  \
	VPMADDWD  Y2, Y0, Y4; \
	VPMADDWD  Y2, Y1, Y5; \
	VPADDD    Y4, Y10, Y10; \
	VPADDD    Y5, Y14, Y14; \
	VPMADDWD  Y3, Y0, Y6; \
	VPMADDWD  Y3, Y1, Y7; \
	VPADDD    Y6, Y11, Y11; \
	VPADDD    Y7, Y15, Y15; \
	ADDQ      $16, SI;    \
	ADDQ      $16, DX;    \
	ADDQ      $16, BX;    \
	ADDQ      $16, R9;    \
	ADDQ      $16, R10;   \
	ADDQ      $16, R11

// Q7DOT_REDUCE: the lanes of each sum added: X0 holds pixel 0's four
// sums, X2 pixel 1's.
#define Q7DOT_REDUCE \
	VPHADDD      Y9, Y8, Y0;   \
	VPHADDD      Y11, Y10, Y1; \
	VPHADDD      Y1, Y0, Y0;   \
	VEXTRACTI128 $1, Y0, X1;   \
	VPADDD       X1, X0, X0;   \
	VPHADDD      Y13, Y12, Y2; \
	VPHADDD      Y15, Y14, Y3; \
	VPHADDD      Y3, Y2, Y2;   \
	VEXTRACTI128 $1, Y2, X3;   \
	VPADDD       X3, X2, X2

// Q7_SHIFT_BOUNDS: the shift count (R13) in S, lo (R14) and hi (R12)
// broadcast over L and H.
#define Q7_SHIFT_BOUNDS(S, L, H) \
	VMOVQ        R13, S;  \
	VMOVD        R14, L;  \
	VPBROADCASTD L, L;    \
	VMOVD        R12, H;  \
	VPBROADCASTD H, H

// Q7_COUNT_SAT(a, b, lo, hi, t1..t4, sat): adds to 0(sat) the lanes of a
// and b above hi and to 8(sat) those below lo (AX, BX scratch).
#define Q7_COUNT_SAT(a, b, lo, hi, t1, t2, t3, t4, sat) \
	VPCMPGTD  hi, a, t1; \
	VPCMPGTD  hi, b, t2; \
	VPCMPGTD  a, lo, t3; \
	VPCMPGTD  b, lo, t4; \
	VMOVMSKPS t1, AX;    \
	VMOVMSKPS t2, BX;    \
	POPCNTL   AX, AX;    \
	POPCNTL   BX, BX;    \
	ADDQ      BX, AX;    \
	ADDQ      AX, (sat); \
	VMOVMSKPS t3, AX;    \
	VMOVMSKPS t4, BX;    \
	POPCNTL   AX, AX;    \
	POPCNTL   BX, BX;    \
	ADDQ      BX, AX;    \
	ADDQ      AX, 8(sat)

// Q7DOT_ADD_SHIFT: (rq (DI) + sums) >> X5; Q7DOT_CLAMP_STORE then clamps
// to [X6, X7], packs to bytes and stores pixel 0's four at oa, pixel 1's
// at ob.
#define Q7DOT_ADD_SHIFT \
	VMOVDQU (DI), X4;    \
	VPADDD  X4, X0, X0;  \
	VPADDD  X4, X2, X2;  \
	VPSRAD  X5, X0, X0;  \
	VPSRAD  X5, X2, X2

#define Q7DOT_CLAMP_STORE(oa, ob) \
	VPMAXSD   X6, X0, X0; \
	VPMINSD   X7, X0, X0; \
	VPMAXSD   X6, X2, X2; \
	VPMINSD   X7, X2, X2; \
	VPACKSSDW X0, X0, X0; \
	VPACKSSWB X0, X0, X0; \
	VPACKSSDW X2, X2, X2; \
	VPACKSSWB X2, X2, X2; \
	MOVQ      oa, AX;     \
	VMOVD     X0, (AX);   \
	MOVQ      ob, AX;     \
	VMOVD     X2, (AX)

// QDW_STEP: sixteen channels of one window tap (R12 input, R13 weights)
// added to Y0 (channels 0-7) and Y1 (8-15); then both move one column.
#define QDW_STEP \
	VPMOVSXBD (R12), Y2;  \
	VPMOVSXBD (R13), Y3;  \
	VPMOVSXBD 8(R12), Y4; \
	VPMOVSXBD 8(R13), Y5; \
	VPMULLD   Y3, Y2, Y2; \
	VPMULLD   Y5, Y4, Y4; \
	VPADDD    Y2, Y0, Y0; \
	VPADDD    Y4, Y1, Y1; \
	ADDQ      DX, R12;    \
	ADDQ      R9, R13

// QDW_CLAMP_STORE: Y0/Y1 clamped to [Y7, Y8], packed to sixteen bytes
// at (AX).
#define QDW_CLAMP_STORE \
	VPMAXSD      Y7, Y0, Y0; \
	VPMINSD      Y8, Y0, Y0; \
	VPMAXSD      Y7, Y1, Y1; \
	VPMINSD      Y8, Y1, Y1; \
	VEXTRACTI128 $1, Y0, X2; \
	VPACKSSDW    X2, X0, X3; \
	VEXTRACTI128 $1, Y1, X4; \
	VPACKSSDW    X4, X1, X5; \
	VPACKSSWB    X5, X3, X3; \
	VMOVDQU      X3, (AX)

// func dot4x2Q7(x0, x1, w *int8, k, blocks int, s *[8]int32)
TEXT ·dot4x2Q7(SB), NOSPLIT, $0-48
	MOVQ  x0+0(FP), SI
	MOVQ  x1+8(FP), DX
	MOVQ  w+16(FP), BX
	MOVQ  k+24(FP), R8
	MOVQ  blocks+32(FP), CX
	MOVQ  s+40(FP), DI
	Q7DOT_INIT
	TESTQ CX, CX
	JLE   reduce

dotloop:
	Q7DOT_STEP
	DECQ CX
	JNZ  dotloop

reduce:
	Q7DOT_REDUCE
	VMOVDQU X0, (DI)
	VMOVDQU X2, 16(DI)
	VZEROUPPER
	RET

// func depthwiseQ7x16(a *[16]int32, x *int8, xcol, xrow int, w *int8, wcol, wrow, rows, cols int)
TEXT ·depthwiseQ7x16(SB), NOSPLIT, $0-72
	MOVQ    a+0(FP), DI
	MOVQ    x+8(FP), SI
	MOVQ    xcol+16(FP), DX
	MOVQ    xrow+24(FP), R8
	MOVQ    w+32(FP), BX
	MOVQ    wcol+40(FP), R9
	MOVQ    wrow+48(FP), R10
	MOVQ    rows+56(FP), CX
	MOVQ    cols+64(FP), R11
	VMOVDQU 0(DI), Y0
	VMOVDQU 32(DI), Y1
	WIN_EMPTY(doneq)

rowq:
	ROW_BEGIN

innerq:
	QDW_STEP
	DECQ R14
	JNZ  innerq
	ROW_END(rowq)

doneq:
	VMOVDQU Y0, 0(DI)
	VMOVDQU Y1, 32(DI)
	VZEROUPPER
	RET

// func dot4x2Q7Requant(x0, x1, w *int8, k, blocks int, rq *int32, os uint64, lo, hi int32, oa, ob *int8)
TEXT ·dot4x2Q7Requant(SB), NOSPLIT, $0-80
	MOVQ  x0+0(FP), SI
	MOVQ  x1+8(FP), DX
	MOVQ  w+16(FP), BX
	MOVQ  k+24(FP), R8
	MOVQ  blocks+32(FP), CX
	MOVQ  rq+40(FP), DI
	Q7DOT_INIT
	TESTQ CX, CX
	JLE   reducer

dotloopr:
	Q7DOT_STEP
	DECQ CX
	JNZ  dotloopr

reducer:
	Q7DOT_REDUCE
	MOVQ os+48(FP), R13
	MOVL lo+56(FP), R14
	MOVL hi+60(FP), R12
	Q7_SHIFT_BOUNDS(X5, X6, X7)
	Q7DOT_ADD_SHIFT
	Q7DOT_CLAMP_STORE(oa+64(FP), ob+72(FP))
	VZEROUPPER
	RET

// func dot4x2Q7RequantSat(x0, x1, w *int8, k, blocks int, rq *int32, os uint64, lo, hi int32, oa, ob *int8, sat *[2]int64)
TEXT ·dot4x2Q7RequantSat(SB), NOSPLIT, $0-88
	MOVQ  x0+0(FP), SI
	MOVQ  x1+8(FP), DX
	MOVQ  w+16(FP), BX
	MOVQ  k+24(FP), R8
	MOVQ  blocks+32(FP), CX
	MOVQ  rq+40(FP), DI
	Q7DOT_INIT
	TESTQ CX, CX
	JLE   reduces

dotloops:
	Q7DOT_STEP
	DECQ CX
	JNZ  dotloops

reduces:
	Q7DOT_REDUCE
	MOVQ os+48(FP), R13
	MOVL lo+56(FP), R14
	MOVL hi+60(FP), R12
	Q7_SHIFT_BOUNDS(X5, X6, X7)
	Q7DOT_ADD_SHIFT
	// Saturation counts before clamping.
	MOVQ sat+80(FP), R12
	Q7_COUNT_SAT(X0, X2, X6, X7, X9, X10, X11, X12, R12)
	Q7DOT_CLAMP_STORE(oa+64(FP), ob+72(FP))
	VZEROUPPER
	RET

// func depthwiseQ7x16Requant(x *int8, xcol, xrow int, w *int8, wcol, wrow, rows, cols int, rq *int32, os uint64, lo, hi int32, out *int8)
TEXT ·depthwiseQ7x16Requant(SB), NOSPLIT, $0-96
	MOVQ    x+0(FP), SI
	MOVQ    xcol+8(FP), DX
	MOVQ    xrow+16(FP), R8
	MOVQ    w+24(FP), BX
	MOVQ    wcol+32(FP), R9
	MOVQ    wrow+40(FP), R10
	MOVQ    rows+48(FP), CX
	MOVQ    cols+56(FP), R11
	VPXOR Y0, Y0, Y0
	VPXOR Y1, Y1, Y1
	WIN_EMPTY(dqreq)

dqrow:
	ROW_BEGIN

dqinner:
	QDW_STEP
	DECQ R14
	JNZ  dqinner
	ROW_END(dqrow)

dqreq:
	MOVQ   rq+64(FP), DI
	VPADDD (DI), Y0, Y0
	VPADDD 32(DI), Y1, Y1
	MOVQ os+72(FP), R13
	MOVL lo+80(FP), R14
	MOVL hi+84(FP), R12
	Q7_SHIFT_BOUNDS(X6, X7, X8)
	VPSRAD X6, Y0, Y0
	VPSRAD X6, Y1, Y1
	VPBROADCASTD X7, Y7
	VPBROADCASTD X8, Y8
	MOVQ   out+88(FP), AX
	QDW_CLAMP_STORE
	VZEROUPPER
	RET

// func depthwiseQ7x16RequantSat(x *int8, xcol, xrow int, w *int8, wcol, wrow, rows, cols int, rq *int32, os uint64, lo, hi int32, out *int8, sat *[2]int64)
TEXT ·depthwiseQ7x16RequantSat(SB), NOSPLIT, $0-104
	MOVQ    x+0(FP), SI
	MOVQ    xcol+8(FP), DX
	MOVQ    xrow+16(FP), R8
	MOVQ    w+24(FP), BX
	MOVQ    wcol+32(FP), R9
	MOVQ    wrow+40(FP), R10
	MOVQ    rows+48(FP), CX
	MOVQ    cols+56(FP), R11
	VPXOR Y0, Y0, Y0
	VPXOR Y1, Y1, Y1
	WIN_EMPTY(dsreq)

dsrow:
	ROW_BEGIN

dsinner:
	QDW_STEP
	DECQ R14
	JNZ  dsinner
	ROW_END(dsrow)

dsreq:
	MOVQ   rq+64(FP), DI
	VPADDD (DI), Y0, Y0
	VPADDD 32(DI), Y1, Y1
	MOVQ os+72(FP), R13
	MOVL lo+80(FP), R14
	MOVL hi+84(FP), R12
	Q7_SHIFT_BOUNDS(X6, X7, X8)
	VPSRAD X6, Y0, Y0
	VPSRAD X6, Y1, Y1
	VPBROADCASTD X7, Y7
	VPBROADCASTD X8, Y8
	// Saturation counts before clamping.
	MOVQ sat+96(FP), R12
	Q7_COUNT_SAT(Y0, Y1, Y7, Y8, Y9, Y10, Y11, Y12, R12)
	MOVQ out+88(FP), AX
	QDW_CLAMP_STORE
	VZEROUPPER
	RET
