package kql

// The syntax tree. Every node keeps the position of its first token (for
// binary expressions, the operator's) so that errors point at the source.

// Query is a parsed query: let statements, then one tabular expression.
type Query struct {
	Lets []*LetStmt
	Body Expr
}

// LetStmt binds a name to a scalar or tabular expression.
type LetStmt struct {
	Pos   Pos
	Name  string
	Value Expr
}

// Expr is a scalar or tabular expression: which one a name or a pipeline
// is gets decided by analysis.
type Expr interface{ pos() Pos }

// Ident is a name: a column, a let variable or a table.
type Ident struct {
	Pos  Pos
	Name string
}

// LitKind classifies a literal.
type LitKind int

// Literal kinds.
const (
	LitString LitKind = iota
	LitLong
	LitReal
	LitBool
	LitDateTime
	LitTimespan
	LitDynamic
	LitGUID
	LitNull // typed null: Type says which
	LitInt
)

// Literal is a constant. Value holds string, int64, float64, bool, ticks
// (int64) for datetime and timespan, JSON text for dynamic.
type Literal struct {
	Pos   Pos
	Kind  LitKind
	Type  Type
	Value any
}

// Binary is a binary operator: arithmetic, comparison, string operator,
// and, or. Op is the operator as written (lower case for words), e.g.
// "==", "contains", "!has", "and", "matches regex".
type Binary struct {
	Pos  Pos
	Op   string
	L, R Expr
}

// Unary is unary minus or plus.
type Unary struct {
	Pos Pos
	Op  string
	X   Expr
}

// Call is a function call.
type Call struct {
	Pos  Pos
	Name string
	Args []Expr
}

// Member is dynamic property access x.name.
type Member struct {
	Pos  Pos
	X    Expr
	Name string
}

// Index is x[i]: a dynamic array index or property by string.
type Index struct {
	Pos   Pos
	X     Expr
	Index Expr
}

// InList is x in (a, b, ...), also !in, in~, !in~.
type InList struct {
	Pos  Pos
	Op   string
	X    Expr
	List []Expr
}

// Between is x between (lo .. hi) and !between.
type Between struct {
	Pos    Pos
	Not    bool
	X      Expr
	Lo, Hi Expr
}

// Star is * as a function argument (arg_max(T, *)).
type Star struct{ Pos Pos }

// Paren is a parenthesized expression or pipeline.
type Paren struct {
	Pos Pos
	X   Expr
}

// Pipe is a tabular pipeline: a source and the operators applied to it.
type Pipe struct {
	Pos    Pos
	Source Expr
	Ops    []Operator
}

// UnionExpr is the union operator used as a source, or the tables of a
// union operator.
type UnionExpr struct {
	Pos        Pos
	Kind       string // "outer" (default) or "inner"
	WithSource string
	Tables     []Expr
}

// PrintExpr is the print operator: one row of scalar expressions.
type PrintExpr struct {
	Pos  Pos
	Cols []NamedExpr
}

func (e *Ident) pos() Pos     { return e.Pos }
func (e *Literal) pos() Pos   { return e.Pos }
func (e *Binary) pos() Pos    { return e.Pos }
func (e *Unary) pos() Pos     { return e.Pos }
func (e *Call) pos() Pos      { return e.Pos }
func (e *Member) pos() Pos    { return e.Pos }
func (e *Index) pos() Pos     { return e.Pos }
func (e *InList) pos() Pos    { return e.Pos }
func (e *Between) pos() Pos   { return e.Pos }
func (e *Star) pos() Pos      { return e.Pos }
func (e *Paren) pos() Pos     { return e.Pos }
func (e *Pipe) pos() Pos      { return e.Pos }
func (e *UnionExpr) pos() Pos { return e.Pos }
func (e *PrintExpr) pos() Pos { return e.Pos }

// NamedExpr is an optionally named expression: Name = X, or X.
type NamedExpr struct {
	Name    string // "" when not named
	NamePos Pos
	X       Expr
}

// SortKey is one key of order by / top.
type SortKey struct {
	X    Expr
	Desc bool
	// Nulls is "" (the default for the direction), "first" or "last".
	Nulls string
}

// Operator is a tabular operator after a pipe.
type Operator interface{ opPos() Pos }

// WhereOp filters rows.
type WhereOp struct {
	Pos  Pos
	Pred Expr
}

// ProjectOp selects and computes columns.
type ProjectOp struct {
	Pos  Pos
	Cols []NamedExpr
}

// ProjectAwayOp removes columns; names may hold * wildcards.
type ProjectAwayOp struct {
	Pos   Pos
	Names []*Ident
}

// ProjectKeepOp keeps only the named columns (wildcards allowed), in table
// order.
type ProjectKeepOp struct {
	Pos   Pos
	Names []*Ident
}

// ProjectReorderOp moves the named columns (wildcards allowed) first, in
// the order named.
type ProjectReorderOp struct {
	Pos   Pos
	Names []*Ident
}

// ProjectRenameOp renames columns: New = Old.
type ProjectRenameOp struct {
	Pos   Pos
	Pairs []RenamePair
}

// RenamePair is one New = Old of project-rename.
type RenamePair struct {
	New    string
	NewPos Pos
	Old    *Ident
}

// ExtendOp adds or replaces computed columns.
type ExtendOp struct {
	Pos  Pos
	Cols []NamedExpr
}

// SummarizeOp aggregates.
type SummarizeOp struct {
	Pos  Pos
	Aggs []NamedExpr
	By   []NamedExpr
}

// SortOp sorts (order by / sort by).
type SortOp struct {
	Pos  Pos
	Keys []SortKey
}

// TopOp is top N by keys.
type TopOp struct {
	Pos  Pos
	N    Expr
	Keys []SortKey
}

// TakeOp is take / limit.
type TakeOp struct {
	Pos Pos
	N   Expr
}

// DistinctOp keeps distinct rows of the given columns (all when Star).
type DistinctOp struct {
	Pos  Pos
	Star bool
	Cols []NamedExpr
}

// CountOp counts rows.
type CountOp struct{ Pos Pos }

// JoinOp joins the input (left) with Right.
type JoinOp struct {
	Pos   Pos
	Kind  string // lower case; "" means innerunique
	Right Expr
	On    []JoinCond
}

// JoinCond is one join condition: a column present on both sides (Left ==
// Right == the name), or $left.A == $right.B.
type JoinCond struct {
	Pos         Pos
	Left, Right *Ident
}

// UnionOp appends other tables to the input.
type UnionOp struct {
	Pos   Pos
	Union *UnionExpr
}

// MvExpandOp expands a dynamic array or property bag into rows.
type MvExpandOp struct {
	Pos       Pos
	Kind      string // "bag" (default) or "array"
	ItemIndex string // with_itemindex column, or ""
	Items     []MvItem
	Limit     Expr
}

// MvItem is one expanded expression.
type MvItem struct {
	NamedExpr
	To Type // "" unless "to typeof(T)"
}

// RenderOp is accepted and ignored.
type RenderOp struct{ Pos Pos }

func (o *WhereOp) opPos() Pos          { return o.Pos }
func (o *ProjectOp) opPos() Pos        { return o.Pos }
func (o *ProjectAwayOp) opPos() Pos    { return o.Pos }
func (o *ProjectKeepOp) opPos() Pos    { return o.Pos }
func (o *ProjectRenameOp) opPos() Pos  { return o.Pos }
func (o *ProjectReorderOp) opPos() Pos { return o.Pos }
func (o *ExtendOp) opPos() Pos         { return o.Pos }
func (o *SummarizeOp) opPos() Pos      { return o.Pos }
func (o *SortOp) opPos() Pos           { return o.Pos }
func (o *TopOp) opPos() Pos            { return o.Pos }
func (o *TakeOp) opPos() Pos           { return o.Pos }
func (o *DistinctOp) opPos() Pos       { return o.Pos }
func (o *CountOp) opPos() Pos          { return o.Pos }
func (o *JoinOp) opPos() Pos           { return o.Pos }
func (o *UnionOp) opPos() Pos          { return o.Pos }
func (o *MvExpandOp) opPos() Pos       { return o.Pos }
func (o *RenderOp) opPos() Pos         { return o.Pos }
