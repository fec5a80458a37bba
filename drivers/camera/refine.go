package camera

import (
	"math"
	"slices"

	"github.com/makiuchi-d/gozxing/common"
	"github.com/makiuchi-d/gozxing/qrcode/decoder"
	"github.com/makiuchi-d/gozxing/qrcode/detector"
)

// Under a steep perspective gozxing's detector places the symbol with a
// parallelogram through the three finder patterns and one alignment
// pattern searched where that parallelogram puts the bottom-right one. On
// a code of version 7 or more, which has several alignment patterns, the
// one it finds can be a neighbour of the right one, and the grid is then
// sampled askew. refine instead fits the perspective step by step: from
// the finder patterns it predicts the alignment pattern nearest to them,
// looks for it there, fits the mapping again with it, and goes on outwards,
// so each prediction comes from a mapping that already knows the
// perspective of the patterns nearer the finders (ISO/IEC 18004:2015 6.3.6
// and Annex E give the pattern positions; the fit is a homography by least
// squares over every pattern found).

// correspondence is a point of the symbol (in modules) and where it is in
// the matrix.
type correspondence struct{ u, v, x, y float64 }

// mapping takes symbol coordinates (modules) to matrix pixels.
type mapping [8]float64 // x = (a u + b v + c)/(g u + h v + 1), y = (d u + e v + f)/(...)

func (m mapping) apply(u, v float64) (float64, float64) {
	w := m[6]*u + m[7]*v + 1
	return (m[0]*u + m[1]*v + m[2]) / w, (m[3]*u + m[4]*v + m[5]) / w
}

// affineFrom maps the three finder centres (3.5, 3.5), (dim−3.5, 3.5) and
// (3.5, dim−3.5) exactly.
func affineFrom(tl, tr, bl correspondence, dim int) mapping {
	s := float64(dim - 7)
	a, d := (tr.x-tl.x)/s, (tr.y-tl.y)/s
	b, e := (bl.x-tl.x)/s, (bl.y-tl.y)/s
	return mapping{a, b, tl.x - 3.5*a - 3.5*b, d, e, tl.y - 3.5*d - 3.5*e, 0, 0}
}

// fitHomography solves the least-squares homography of four or more
// correspondences (the direct linear transform with h33 = 1); ok is false
// when they are degenerate.
func fitHomography(cs []correspondence, dim int) (mapping, bool) {
	// Symbol coordinates scaled to about one, pixels likewise, for a
	// well-conditioned system.
	su := float64(dim)
	var sx float64
	for _, c := range cs {
		sx = max(sx, math.Abs(c.x), math.Abs(c.y))
	}
	if sx == 0 {
		return mapping{}, false
	}
	var ata [8][9]float64 // normal equations, right-hand side in column 8
	add := func(row [8]float64, rhs float64) {
		for i := range 8 {
			for j := range 8 {
				ata[i][j] += row[i] * row[j]
			}
			ata[i][8] += row[i] * rhs
		}
	}
	for _, c := range cs {
		u, v, x, y := c.u/su, c.v/su, c.x/sx, c.y/sx
		add([8]float64{u, v, 1, 0, 0, 0, -u * x, -v * x}, x)
		add([8]float64{0, 0, 0, u, v, 1, -u * y, -v * y}, y)
	}
	// Gaussian elimination with partial pivoting.
	for col := range 8 {
		p := col
		for r := col + 1; r < 8; r++ {
			if math.Abs(ata[r][col]) > math.Abs(ata[p][col]) {
				p = r
			}
		}
		if math.Abs(ata[p][col]) < 1e-12 {
			return mapping{}, false
		}
		ata[col], ata[p] = ata[p], ata[col]
		for r := range 8 {
			if r == col {
				continue
			}
			f := ata[r][col] / ata[col][col]
			for k := col; k < 9; k++ {
				ata[r][k] -= f * ata[col][k]
			}
		}
	}
	var h [8]float64
	for i := range 8 {
		h[i] = ata[i][8] / ata[i][i]
	}
	// Undo the scaling: x = sx·X(u/su, v/su).
	return mapping{h[0] * sx / su, h[1] * sx / su, h[2] * sx, h[3] * sx / su, h[4] * sx / su, h[5] * sx, h[6] / su, h[7] / su}, true
}

// refine samples the located code again with its perspective fitted to its
// alignment patterns, for the detector's count of modules and one version
// either side, and returns the text of the first grid that decodes.
func (d *Decoder) refine(det *common.DetectorResult, over func() bool) (text string, ok bool) {
	defer func() {
		if r := recover(); r != nil { // a library panic is a miss
			text, ok = "", false
		}
	}()
	pts := det.GetPoints()
	if len(pts) < 3 {
		return "", false
	}
	dim0 := det.GetBits().GetWidth()
	for _, dim := range []int{dim0, dim0 + 4, dim0 - 4} {
		if over() {
			return "", false
		}
		v, err := decoder.Version_GetProvisionalVersionForDimension(dim)
		if err != nil || len(v.GetAlignmentPatternCenters()) < 2 {
			continue // no alignment pattern, or only one: the detector's own case
		}
		m, n := d.fitAlignment(pts[1].GetX(), pts[1].GetY(), pts[2].GetX(), pts[2].GetY(), pts[0].GetX(), pts[0].GetY(), dim, v.GetAlignmentPatternCenters())
		if n < 2 {
			continue
		}
		e := float64(dim) - 3.5
		x0, y0 := m.apply(3.5, 3.5)
		x1, y1 := m.apply(e, 3.5)
		x2, y2 := m.apply(e, e)
		x3, y3 := m.apply(3.5, e)
		tf := common.PerspectiveTransform_QuadrilateralToQuadrilateral(3.5, 3.5, e, 3.5, e, e, 3.5, e, x0, y0, x1, y1, x2, y2, x3, y3)
		bits, err := detector.Detector_sampleGrid(d.matrix, tf, dim)
		if err != nil {
			continue
		}
		if res, err := d.dec.Decode(bits, d.hints); err == nil {
			return res.GetText(), true
		}
	}
	return "", false
}

// fitAlignment fits the mapping of a dim-module symbol whose finder
// centres are at tl, tr and bl, adding its alignment patterns (centres
// from the version's table) nearest the finders first. It returns the
// mapping and how many alignment patterns it found.
func (d *Decoder) fitAlignment(tlx, tly, trx, try, blx, bly float64, dim int, centers []int) (mapping, int) {
	cs := []correspondence{
		{3.5, 3.5, tlx, tly},
		{float64(dim) - 3.5, 3.5, trx, try},
		{3.5, float64(dim) - 3.5, blx, bly},
	}
	m := affineFrom(cs[0], cs[1], cs[2], dim)
	type at struct{ u, v float64 }
	var todo []at
	last := len(centers) - 1
	for i, cy := range centers {
		for j, cx := range centers {
			// The three corners a finder pattern occupies have none.
			if (i == 0 && j == 0) || (i == 0 && j == last) || (i == last && j == 0) {
				continue
			}
			todo = append(todo, at{float64(cx) + 0.5, float64(cy) + 0.5})
		}
	}
	slices.SortStableFunc(todo, func(a, b at) int { return int(math.Copysign(1, (a.u+a.v)-(b.u+b.v))) })
	found := 0
	w, h := d.matrix.GetWidth(), d.matrix.GetHeight()
	for _, p := range todo {
		x, y := m.apply(p.u, p.v)
		xu, yu := m.apply(p.u+1, p.v)
		module := math.Hypot(xu-x, yu-y)
		if module < 1 || math.IsNaN(x) || math.IsNaN(y) {
			continue
		}
		a := int(math.Ceil(4 * module))
		x0, x1 := max(int(x)-a, 0), min(int(x)+a, w-1)
		y0, y1 := max(int(y)-a, 0), min(int(y)+a, h-1)
		if float64(x1-x0) < 3*module || float64(y1-y0) < 3*module {
			continue
		}
		ap, err := detector.NewAlignmentPatternFinder(d.matrix, x0, y0, x1-x0, y1-y0, module, nil).Find()
		if err != nil || math.Hypot(ap.GetX()-x, ap.GetY()-y) > 2.5*module {
			continue
		}
		cs = append(cs, correspondence{p.u, p.v, ap.GetX(), ap.GetY()})
		found++
		if len(cs) >= 4 {
			if fit, ok := fitHomography(cs, dim); ok {
				m = fit
			}
		}
	}
	return m, found
}
