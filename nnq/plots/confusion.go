package plots

import (
	"fmt"
	"image/color"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"github.com/nnq-toolkit/nnq/nnq"
)

// blues is a white-to-dark-blue scale: a cell's colour says which share of
// its row (its label) it holds, 0 white, 1 dark blue.
type blues int

func (n blues) Colors() []color.Color {
	stops := []color.RGBA{{247, 251, 255, 255}, {158, 202, 225, 255}, {33, 113, 181, 255}, {8, 48, 107, 255}}
	out := make([]color.Color, int(n))
	for i := range out {
		t := float64(i) / float64(int(n)-1) * float64(len(stops)-1)
		k := min(int(t), len(stops)-2)
		f := t - float64(k)
		a, b := stops[k], stops[k+1]
		mix := func(x, y uint8) uint8 { return uint8(math.Round(float64(x) + f*(float64(y)-float64(x)))) }
		out[i] = color.RGBA{mix(a.R, b.R), mix(a.G, b.G), mix(a.B, b.B), 255}
	}
	return out
}

// shareGrid is a confusion matrix as row shares, rows (labels) from the top.
type shareGrid struct {
	conf [][]int
	sums []int
}

func (g shareGrid) Dims() (c, r int) { return len(g.conf), len(g.conf) }
func (g shareGrid) Z(c, r int) float64 {
	row := len(g.conf) - 1 - r
	if g.sums[row] == 0 {
		return 0
	}
	return float64(g.conf[row][c]) / float64(g.sums[row])
}
func (g shareGrid) X(c int) float64 { return float64(c) }
func (g shareGrid) Y(r int) float64 { return float64(r) }

// newShareGrid checks a square confusion matrix and sums its rows.
func newShareGrid(conf [][]int) (shareGrid, error) {
	n := len(conf)
	if n == 0 {
		return shareGrid{}, fmt.Errorf("plots: empty confusion matrix")
	}
	g := shareGrid{conf: conf, sums: make([]int, n)}
	for i, row := range conf {
		if len(row) != n {
			return shareGrid{}, fmt.Errorf("plots: confusion matrix row %d has %d columns, want %d", i, len(row), n)
		}
		for _, v := range row {
			g.sums[i] += v
		}
	}
	return g, nil
}

// cellLabels are the counts of the grid's cells (rows from the bottom of
// the picture) and their colours: white on dark cells, grey for zeros.
func (g shareGrid) cellLabels() (plotter.XYLabels, []color.Color) {
	n := len(g.conf)
	var lbl plotter.XYLabels
	var colors []color.Color
	for r := 0; r < n; r++ {
		for c := 0; c < n; c++ {
			v := g.conf[n-1-r][c]
			lbl.XYs = append(lbl.XYs, plotter.XY{X: float64(c), Y: float64(r)})
			lbl.Labels = append(lbl.Labels, fmt.Sprint(v))
			switch {
			case v == 0:
				colors = append(colors, color.Gray{Y: 190})
			case g.Z(c, r) > 0.5:
				colors = append(colors, color.White)
			default:
				colors = append(colors, color.Black)
			}
		}
	}
	return lbl, colors
}

// ConfusionPlot draws a confusion matrix (conf[label][prediction]): every
// cell shows its count, coloured by the share of its row it holds (0 to
// 1, see ConfusionColorBar), so a class with few patterns reads like one
// with many; class names label both axes, labels from the top.
func ConfusionPlot(conf [][]int, classes []string, title string) (*plot.Plot, error) {
	g, err := newShareGrid(conf)
	if err != nil {
		return nil, err
	}
	n := len(conf)
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "prediction"
	p.Y.Label.Text = "label"
	h := plotter.NewHeatMap(g, blues(64))
	h.Min, h.Max = 0, 1
	p.Add(h)
	lbl, styles := g.cellLabels()
	l, err := plotter.NewLabels(lbl)
	if err != nil {
		return nil, err
	}
	size := vg.Points(math.Max(6, math.Min(11, 130/float64(n))))
	for i := range l.TextStyle {
		l.TextStyle[i].Color = styles[i]
		l.TextStyle[i].Font.Size = size
		l.TextStyle[i].XAlign, l.TextStyle[i].YAlign = draw.XCenter, draw.YCenter
	}
	p.Add(l)
	xt, yt := make([]plot.Tick, n), make([]plot.Tick, n)
	for i := 0; i < n; i++ {
		name := fmt.Sprint(i)
		if len(classes) == n {
			name = classes[i]
		}
		xt[i] = plot.Tick{Value: float64(i), Label: name}
		yt[i] = plot.Tick{Value: float64(n - 1 - i), Label: name}
	}
	p.X.Tick.Marker, p.Y.Tick.Marker = plot.ConstantTicks(xt), plot.ConstantTicks(yt)
	p.X.Tick.Label.Rotation = math.Pi / 3
	p.X.Tick.Label.XAlign, p.X.Tick.Label.YAlign = draw.XRight, draw.YCenter
	p.X.Min, p.X.Max = -0.5, float64(n)-0.5
	p.Y.Min, p.Y.Max = -0.5, float64(n)-0.5
	return p, nil
}

// ConfusionColorBar is the colour scale of ConfusionPlot: the share of the
// row (label) a cell holds.
func ConfusionColorBar() *plot.Plot {
	const steps = 64
	p := plot.New()
	p.Y.Label.Text = "share of the label's patterns"
	p.HideX()
	h := plotter.NewHeatMap(barGrid(steps), blues(steps))
	h.Min, h.Max = 0, 1
	h.Rasterized = true // no seams between the steps
	p.Add(h)
	p.Y.Min, p.Y.Max = 0, 1
	p.X.Min, p.X.Max = 0, 1
	p.Y.Tick.Marker = plot.ConstantTicks([]plot.Tick{{Value: 0, Label: "0"}, {Value: 0.25, Label: "0.25"}, {Value: 0.5, Label: "0.5"}, {Value: 0.75, Label: "0.75"}, {Value: 1, Label: "1"}})
	return p
}

type barGrid int

func (g barGrid) Dims() (c, r int)   { return 1, int(g) }
func (g barGrid) Z(c, r int) float64 { return (float64(r) + 0.5) / float64(g) }
func (g barGrid) X(c int) float64    { return 0.5 }
func (g barGrid) Y(r int) float64    { return (float64(r) + 0.5) / float64(g) }

// ConfusionPNG draws the float network's and the fixed-point network's
// confusion matrices side by side with their shared colour bar, titled
// with caption (Caption(q)) and each network's accuracy; each matrix is
// size x size, the whole picture (2 size + a bar) x size.
func ConfusionPNG(ev *nnq.Evaluation, classes []string, caption, fixedName string, size vg.Length) ([]byte, error) {
	fp, err := ConfusionPlot(ev.FloatConfusion, classes, fmt.Sprintf("float: %.2f %% right", 100*ev.Float))
	if err != nil {
		return nil, err
	}
	qp, err := ConfusionPlot(ev.FixedConfusion, classes, fmt.Sprintf("%s: %.2f %% right", fixedName, 100*ev.Fixed))
	if err != nil {
		return nil, err
	}
	bar := ConfusionColorBar()
	barW := size / 4
	titleH := vg.Points(30)
	img := vgimg.NewWith(vgimg.UseWH(2*size+barW, size+titleH), vgimg.UseDPI(DPI))
	dc := draw.New(img)
	head := plot.New()
	head.Title.Text = fmt.Sprintf("%s: confusion on %d test patterns (count in each cell)", caption, ev.Patterns)
	sty := head.Title.TextStyle
	sty.Font.Size = vg.Points(13)
	sty.XAlign, sty.YAlign = draw.XCenter, draw.YCenter
	dc.FillText(sty, vg.Point{X: dc.Center().X, Y: dc.Max.Y - titleH/2}, head.Title.Text)
	body := dc
	body.Max.Y -= titleH
	left, mid, right := body, body, body
	left.Max.X = left.Min.X + size
	mid.Min.X, mid.Max.X = left.Max.X, left.Max.X+size
	right.Min.X = mid.Max.X
	fp.Draw(left)
	qp.Draw(mid)
	// The bar spans the matrices' data height: cropped like their data area.
	right = draw.Crop(right, vg.Points(6), -vg.Points(6), 0, 0)
	bar.Draw(alignBar(qp, mid, right))
	return encode(img)
}

// alignBar returns the part of c whose height matches the data area of p
// drawn on pc (the matrices' rows), so the bar stands beside them.
func alignBar(p *plot.Plot, pc, c draw.Canvas) draw.Canvas {
	da := p.DataCanvas(pc)
	c.Min.Y, c.Max.Y = da.Min.Y, da.Max.Y
	// The bar's own axis needs room at the bottom and top of the data area:
	// HideX leaves none, so no further cropping.
	return c
}
