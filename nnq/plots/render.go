package plots

import (
	"bytes"
	"fmt"
	"os"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"github.com/nnq-toolkit/nnq/nnq"
)

// DPI is the resolution of every PNG this package writes: sharp on a
// screen, small in a repository (an 8 x 4 inch plot is 768 x 384 pixels).
const DPI = 96

// LegendSize is the font size of a legend drawn beside its plot.
const LegendSize = vg.Length(10)

// Caption names what a plot shows: "kws-dscnn · q7 · mse" (network, word
// size, scheme); every plot of this package is titled with it.
func Caption(q *nnq.QModel) string {
	return fmt.Sprintf("%s · %s · %s", q.Name, q.TypeName(), q.Scheme)
}

// Draw draws p on c. A legend, if p has one, goes into a column of its own
// right of the plot, top-aligned with the data area, so that it never
// covers data; p is left as it was.
func Draw(p *plot.Plot, c draw.Canvas) {
	orig := p.Legend
	lg := orig
	lg.TextStyle.Font.Size = min(lg.TextStyle.Font.Size, LegendSize)
	pc, lc, ok := split(p, lg, c)
	if !ok {
		p.Draw(c)
		return
	}
	p.Legend = plot.NewLegend()
	defer func() { p.Legend = orig }()
	p.Draw(pc)
	lg.Top, lg.Left, lg.XOffs, lg.YOffs = true, true, 0, 0
	lg.Draw(lc)
}

// split divides c into the plot's part and the legend's column (false when
// the legend is empty).
func split(p *plot.Plot, lg plot.Legend, c draw.Canvas) (pc, lc draw.Canvas, ok bool) {
	r := lg.Rectangle(c)
	lw := r.Max.X - r.Min.X
	if lw <= 0 {
		return c, c, false
	}
	pad := vg.Points(8)
	pc, lc = c, c
	pc.Max.X -= lw + 2*pad
	lc.Min.X = pc.Max.X + pad
	if p.Title.Text != "" {
		lc.Max.Y -= p.Title.TextStyle.Rectangle(p.Title.Text).Size().Y + p.Title.Padding
	}
	lc.Max.Y -= pad
	return pc, lc, true
}

// PNG renders a plot of w x h to PNG bytes at DPI (legend beside the data,
// see Draw).
func PNG(p *plot.Plot, w, h vg.Length) ([]byte, error) {
	return RowPNG(w, h, p)
}

// RowPNG renders plots side by side, each w x h, their data areas aligned.
func RowPNG(w, h vg.Length, ps ...*plot.Plot) ([]byte, error) {
	if len(ps) == 0 {
		return nil, fmt.Errorf("plots: nothing to draw")
	}
	img := vgimg.NewWith(vgimg.UseWH(w*vg.Length(len(ps)), h), vgimg.UseDPI(DPI))
	dc := draw.New(img)
	if len(ps) == 1 {
		Draw(ps[0], dc)
	} else {
		tiles := draw.Tiles{Rows: 1, Cols: len(ps), PadX: vg.Points(12)}
		for i, p := range ps {
			Draw(p, tiles.At(dc, i, 0))
		}
	}
	return encode(img)
}

func encode(img *vgimg.Canvas) ([]byte, error) {
	var b bytes.Buffer
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(&b); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// Save writes a plot of w x h as a PNG file.
func Save(p *plot.Plot, w, h vg.Length, path string) error {
	b, err := PNG(p, w, h)
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}
