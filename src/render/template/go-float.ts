// Go's strconv.FormatFloat for float64 ('e', 'E', 'f', 'F', 'g', 'G'; precision -1 = shortest),
// which fmt's verbs and text/template's printing of float64 values use. JavaScript's
// toExponential/toPrecision give the same shortest digits; the layout (two-digit exponents,
// when %g switches to %e) is Go's.

interface Digits {
  /** Decimal digits without leading zeros ("0" for zero). */
  digits: string
  /** Position of the decimal point relative to the digits (123.4 → digits 1234, point 3). */
  point: number
}

/** Significant digits of |value|: shortest round-trip when precision is undefined. */
function decimalDigits(value: number, significant?: number): Digits {
  const abs = Math.abs(value)
  if (abs === 0) return { digits: '0'.repeat(Math.max(1, significant ?? 1)), point: 1 }
  const text = significant === undefined ? abs.toExponential() : abs.toExponential(Math.max(0, significant - 1))
  const [mantissa, exponent] = text.split('e') as [string, string]
  return { digits: mantissa.replace('.', ''), point: Number(exponent) + 1 }
}

const sign = (value: number) => (value < 0 || Object.is(value, -0) ? '-' : '')

function exponentText(exp: number, upper: boolean): string {
  const abs = Math.abs(exp)
  return `${upper ? 'E' : 'e'}${exp < 0 ? '-' : '+'}${abs < 10 ? `0${abs}` : abs}`
}

function formatE(value: number, precision: number, upper: boolean): string {
  const { digits, point } = precision < 0 ? decimalDigits(value) : decimalDigits(value, precision + 1)
  const fraction = digits.slice(1)
  const exp = Math.abs(value) === 0 ? 0 : point - 1
  return `${sign(value)}${digits[0]}${fraction === '' ? '' : `.${fraction}`}${exponentText(exp, upper)}`
}

function formatF(value: number, precision: number): string {
  const abs = Math.abs(value)
  if (precision >= 0 && precision <= 100) return sign(value) + abs.toFixed(precision)
  // Shortest: every digit the round-trip form has, no exponent.
  const { digits, point } = decimalDigits(value)
  if (abs === 0) return `${sign(value)}0`
  const whole = point <= 0 ? '0' : digits.slice(0, point).padEnd(point, '0')
  const fraction = point < 0 ? '0'.repeat(-point) + digits : digits.slice(Math.max(point, 0))
  return `${sign(value)}${whole}${fraction === '' ? '' : `.${fraction}`}`
}

function formatG(value: number, precision: number, upper: boolean): string {
  const shortest = precision < 0
  const significant = shortest ? undefined : precision === 0 ? 1 : precision
  const { digits, point } = decimalDigits(value, significant)
  let eprec = shortest ? 6 : significant!
  if (!shortest && eprec > digits.length && digits.length >= point) eprec = digits.length
  // strconv: %e when the exponent is below -4 or at least the precision (6 when shortest).
  const exp = Math.abs(value) === 0 ? 0 : point - 1
  const trimmed = shortest ? digits : digits.replace(/0+$/, '') || '0'
  if (exp < -4 || exp >= eprec) {
    const fraction = trimmed.slice(1)
    return `${sign(value)}${trimmed[0]}${fraction === '' ? '' : `.${fraction}`}${exponentText(exp, upper)}`
  }
  if (Math.abs(value) === 0) return `${sign(value)}0`
  const whole = point <= 0 ? '0' : trimmed.slice(0, point).padEnd(point, '0')
  const fraction = point < 0 ? '0'.repeat(-point) + trimmed : trimmed.slice(Math.max(point, 0))
  return `${sign(value)}${whole}${fraction === '' ? '' : `.${fraction}`}`
}

/** strconv.FormatFloat(value, verb, precision, 64). */
export function formatGoFloat(value: number, verb: 'e' | 'E' | 'f' | 'F' | 'g' | 'G', precision = -1): string {
  if (Number.isNaN(value)) return 'NaN'
  if (!Number.isFinite(value)) return value > 0 ? '+Inf' : '-Inf'
  switch (verb) {
    case 'e':
    case 'E':
      return formatE(value, precision, verb === 'E')
    case 'f':
    case 'F':
      return formatF(value, precision)
    case 'g':
    case 'G':
      return formatG(value, precision, verb === 'G')
  }
}

/** What `{{ x }}` and %v print for a float64: %g with the shortest digits. */
export const formatFloatV = (value: number): string => formatGoFloat(value, 'g')
