//! A hand-written lexer and recursive-descent parser for DynamoDB's expression language.
//! It resolves `#name` and `:value` placeholders while parsing and records which ones were
//! used, because DynamoDB rejects requests with unused or undefined placeholders.

use std::collections::{BTreeMap, BTreeSet};

use super::ast::{Comparator, Condition, Operand, Path, PathElement, SetValue, Update};
use super::reserved_words::is_reserved;
use crate::local::dynamodb::attribute_value::{AttributeValue, Item};
use crate::local::dynamodb::error::DynamoError;

/// The placeholders of one request, shared by all its expressions.
#[derive(Debug, Default)]
pub struct Placeholders {
    names: BTreeMap<String, String>,
    values: Item,
    used_names: BTreeSet<String>,
    used_values: BTreeSet<String>,
}

impl Placeholders {
    pub fn new(names: BTreeMap<String, String>, values: Item) -> Placeholders {
        Placeholders {
            names,
            values,
            ..Placeholders::default()
        }
    }

    /// DynamoDB refuses placeholders that no expression used.
    pub fn check_all_used(&self) -> Result<(), DynamoError> {
        let unused = |all: Vec<&String>, used: &BTreeSet<String>| -> Vec<String> {
            all.into_iter()
                .filter(|k| !used.contains(*k))
                .cloned()
                .collect()
        };
        let names = unused(self.names.keys().collect(), &self.used_names);
        if !names.is_empty() {
            return Err(DynamoError::validation(format!(
                "Value provided in ExpressionAttributeNames unused in expressions: keys: {{{}}}",
                names.join(", ")
            )));
        }
        let values = unused(self.values.keys().collect(), &self.used_values);
        if !values.is_empty() {
            return Err(DynamoError::validation(format!(
                "Value provided in ExpressionAttributeValues unused in expressions: keys: {{{}}}",
                values.join(", ")
            )));
        }
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Word(String),
    Name(String),
    Value(String),
    Integer(usize),
    Symbol(&'static str),
    End,
}

impl Token {
    fn text(&self) -> String {
        match self {
            Token::Word(w) | Token::Name(w) | Token::Value(w) => w.clone(),
            Token::Integer(i) => i.to_string(),
            Token::Symbol(s) => (*s).to_owned(),
            Token::End => "<EOF>".to_owned(),
        }
    }

    fn is_keyword(&self, keyword: &str) -> bool {
        matches!(self, Token::Word(w) if w.eq_ignore_ascii_case(keyword))
    }
}

const SYMBOLS: [&str; 13] = [
    "<>", "<=", ">=", "=", "<", ">", "(", ")", "[", "]", ",", ".", "+",
];

fn lex(source: &str, kind: &str) -> Result<Vec<(Token, usize)>, DynamoError> {
    let bytes = source.as_bytes();
    let mut tokens = Vec::new();
    let mut at = 0;
    let word_end = |from: usize| {
        let mut end = from;
        while end < bytes.len() && (bytes[end].is_ascii_alphanumeric() || bytes[end] == b'_') {
            end += 1;
        }
        end
    };
    while at < bytes.len() {
        let c = bytes[at];
        if c.is_ascii_whitespace() {
            at += 1;
            continue;
        }
        let start = at;
        let token = if c == b'#' || c == b':' {
            let end = word_end(at + 1);
            if end == at + 1 {
                return Err(syntax_error(kind, &source[at..at + 1], source, at));
            }
            at = end;
            let text = source[start..end].to_owned();
            if c == b'#' {
                Token::Name(text)
            } else {
                Token::Value(text)
            }
        } else if c.is_ascii_digit() {
            let mut end = at;
            while end < bytes.len() && bytes[end].is_ascii_digit() {
                end += 1;
            }
            at = end;
            let text = &source[start..end];
            Token::Integer(
                text.parse()
                    .map_err(|_| syntax_error(kind, text, source, start))?,
            )
        } else if c.is_ascii_alphabetic() || c == b'_' {
            at = word_end(at);
            Token::Word(source[start..at].to_owned())
        } else if c == b'-' {
            at += 1;
            Token::Symbol("-")
        } else if let Some(symbol) = SYMBOLS.iter().find(|s| source[at..].starts_with(**s)) {
            at += symbol.len();
            Token::Symbol(symbol)
        } else {
            let ch = source[at..].chars().next().unwrap_or(' ');
            return Err(syntax_error(kind, &ch.to_string(), source, at));
        };
        tokens.push((token, start));
    }
    tokens.push((Token::End, source.len()));
    Ok(tokens)
}

fn syntax_error(kind: &str, token: &str, source: &str, at: usize) -> DynamoError {
    let near_start = source[..at].rfind(char::is_whitespace).map_or(0, |i| i + 1);
    let near: String = source[near_start..]
        .chars()
        .take(token.chars().count() + 12)
        .collect();
    DynamoError::validation(format!(
        "Invalid {kind}: Syntax error; token: \"{token}\", near: \"{}\"",
        near.trim_end()
    ))
}

struct Parser<'a> {
    source: &'a str,
    kind: &'static str,
    tokens: Vec<(Token, usize)>,
    position: usize,
    placeholders: &'a mut Placeholders,
}

impl<'a> Parser<'a> {
    fn new(
        source: &'a str,
        kind: &'static str,
        placeholders: &'a mut Placeholders,
    ) -> Result<Self, DynamoError> {
        if source.trim().is_empty() {
            return Err(DynamoError::validation(format!(
                "Invalid {kind}: The expression can not be empty;"
            )));
        }
        let tokens = lex(source, kind)?;
        Ok(Parser {
            source,
            kind,
            tokens,
            position: 0,
            placeholders,
        })
    }

    fn peek(&self) -> &Token {
        &self.tokens[self.position.min(self.tokens.len() - 1)].0
    }

    fn peek_at(&self, offset: usize) -> &Token {
        &self.tokens[(self.position + offset).min(self.tokens.len() - 1)].0
    }

    fn advance(&mut self) -> Token {
        let token = self.peek().clone();
        self.position += 1;
        token
    }

    fn unexpected(&self) -> DynamoError {
        let (token, at) = &self.tokens[self.position.min(self.tokens.len() - 1)];
        syntax_error(self.kind, &token.text(), self.source, *at)
    }

    fn invalid(&self, message: impl std::fmt::Display) -> DynamoError {
        DynamoError::validation(format!("Invalid {}: {message}", self.kind))
    }

    fn expect_symbol(&mut self, symbol: &str) -> Result<(), DynamoError> {
        if self.peek() == &Token::Symbol(leak(symbol)) {
            self.position += 1;
            Ok(())
        } else {
            Err(self.unexpected())
        }
    }

    fn eat_symbol(&mut self, symbol: &str) -> bool {
        let found = matches!(self.peek(), Token::Symbol(s) if *s == symbol);
        if found {
            self.position += 1;
        }
        found
    }

    fn eat_keyword(&mut self, keyword: &str) -> bool {
        let found = self.peek().is_keyword(keyword);
        if found {
            self.position += 1;
        }
        found
    }

    fn expect_end(&self) -> Result<(), DynamoError> {
        if self.peek() == &Token::End {
            Ok(())
        } else {
            Err(self.unexpected())
        }
    }

    fn attribute_name(&mut self) -> Result<String, DynamoError> {
        match self.advance() {
            Token::Word(word) => {
                if is_reserved(&word) {
                    return Err(self.invalid(format!("Attribute name is a reserved keyword; reserved keyword: {word}")));
                }
                Ok(word)
            }
            Token::Name(placeholder) => match self.placeholders.names.get(&placeholder) {
                Some(name) => {
                    let name = name.clone();
                    self.placeholders.used_names.insert(placeholder);
                    Ok(name)
                }
                None => Err(self.invalid(format!(
                    "An expression attribute name used in the document path is not defined; attribute name: {placeholder}"
                ))),
            },
            _ => {
                self.position -= 1;
                Err(self.unexpected())
            }
        }
    }

    fn path(&mut self) -> Result<Path, DynamoError> {
        let mut elements = vec![PathElement::Attribute(self.attribute_name()?)];
        loop {
            if self.eat_symbol(".") {
                elements.push(PathElement::Attribute(self.attribute_name()?));
            } else if self.eat_symbol("[") {
                match self.advance() {
                    Token::Integer(i) => elements.push(PathElement::Index(i)),
                    _ => {
                        self.position -= 1;
                        return Err(self.unexpected());
                    }
                }
                self.expect_symbol("]")?;
            } else {
                return Ok(Path(elements));
            }
        }
    }

    fn value(&mut self) -> Result<AttributeValue, DynamoError> {
        match self.advance() {
            Token::Value(placeholder) => match self.placeholders.values.get(&placeholder) {
                Some(value) => {
                    let value = value.clone();
                    self.placeholders.used_values.insert(placeholder);
                    Ok(value)
                }
                None => Err(self.invalid(format!(
                    "An expression attribute value used in expression is not defined; attribute value: {placeholder}"
                ))),
            },
            _ => {
                self.position -= 1;
                Err(self.unexpected())
            }
        }
    }

    fn function_name(&self) -> Option<String> {
        match (self.peek(), self.peek_at(1)) {
            (Token::Word(word), Token::Symbol("(")) => Some(word.clone()),
            _ => None,
        }
    }

    // ---- conditions ----

    fn condition(&mut self) -> Result<Condition, DynamoError> {
        let mut left = self.and_condition()?;
        while self.eat_keyword("OR") {
            let right = self.and_condition()?;
            left = Condition::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and_condition(&mut self) -> Result<Condition, DynamoError> {
        let mut left = self.not_condition()?;
        while self.eat_keyword("AND") {
            let right = self.not_condition()?;
            left = Condition::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn not_condition(&mut self) -> Result<Condition, DynamoError> {
        if self.eat_keyword("NOT") {
            return Ok(Condition::Not(Box::new(self.not_condition()?)));
        }
        self.primary_condition()
    }

    fn primary_condition(&mut self) -> Result<Condition, DynamoError> {
        if self.eat_symbol("(") {
            let inner = self.condition()?;
            self.expect_symbol(")")?;
            return Ok(inner);
        }
        if let Some(name) = self.function_name()
            && name != "size"
        {
            return self.boolean_function(&name);
        }
        let left = self.operand()?;
        if self.eat_keyword("BETWEEN") {
            let low = self.operand()?;
            if !self.eat_keyword("AND") {
                return Err(self.unexpected());
            }
            let high = self.operand()?;
            return Ok(Condition::Between(left, low, high));
        }
        if self.eat_keyword("IN") {
            self.expect_symbol("(")?;
            let mut options = vec![self.operand()?];
            while self.eat_symbol(",") {
                options.push(self.operand()?);
            }
            self.expect_symbol(")")?;
            if options.len() > 100 {
                return Err(self.invalid(
                    "The IN operator is provided with too many operands; number of operands: 101",
                ));
            }
            return Ok(Condition::In(left, options));
        }
        let comparator = match self.advance() {
            Token::Symbol("=") => Comparator::Eq,
            Token::Symbol("<>") => Comparator::Ne,
            Token::Symbol("<") => Comparator::Lt,
            Token::Symbol("<=") => Comparator::Le,
            Token::Symbol(">") => Comparator::Gt,
            Token::Symbol(">=") => Comparator::Ge,
            _ => {
                self.position -= 1;
                return Err(self.unexpected());
            }
        };
        let right = self.operand()?;
        if comparator != Comparator::Eq && comparator != Comparator::Ne {
            for side in [&left, &right] {
                if let Operand::Value(v) = side
                    && !matches!(
                        v,
                        AttributeValue::S(_) | AttributeValue::N(_) | AttributeValue::B(_)
                    )
                {
                    return Err(self.invalid(format!(
                        "Incorrect operand type for operator or function; operator or function: {}, operand type: {}",
                        comparator.symbol(),
                        v.type_name()
                    )));
                }
            }
        }
        Ok(Condition::Compare(comparator, left, right))
    }

    fn boolean_function(&mut self, name: &str) -> Result<Condition, DynamoError> {
        self.position += 2;
        let condition = match name {
            "attribute_exists" => Condition::AttributeExists(self.path()?),
            "attribute_not_exists" => Condition::AttributeNotExists(self.path()?),
            "attribute_type" => {
                let path = self.path()?;
                self.expect_symbol(",")?;
                Condition::AttributeType(path, self.operand()?)
            }
            "begins_with" | "contains" => {
                let first = self.operand()?;
                self.expect_symbol(",")?;
                let second = self.operand()?;
                if name == "begins_with" {
                    if let Operand::Value(v) = &second
                        && !matches!(v, AttributeValue::S(_) | AttributeValue::B(_))
                    {
                        return Err(self.invalid(format!(
                            "Incorrect operand type for operator or function; operator or function: begins_with, operand type: {}",
                            v.type_name()
                        )));
                    }
                    Condition::BeginsWith(first, second)
                } else {
                    Condition::Contains(first, second)
                }
            }
            "if_not_exists" | "list_append" => {
                return Err(self.invalid(format!(
                    "The function is not allowed to be used this way in an expression; function: {name}"
                )));
            }
            other => return Err(self.invalid(format!("Invalid function name; function: {other}"))),
        };
        self.expect_symbol(")")?;
        Ok(condition)
    }

    fn operand(&mut self) -> Result<Operand, DynamoError> {
        if let Some(name) = self.function_name() {
            if name != "size" {
                return Err(self.invalid(format!(
                    "The function is not allowed to be used this way in an expression; function: {name}"
                )));
            }
            self.position += 2;
            let path = self.path()?;
            self.expect_symbol(")")?;
            return Ok(Operand::Size(path));
        }
        match self.peek() {
            Token::Value(_) => Ok(Operand::Value(self.value()?)),
            _ => Ok(Operand::Path(self.path()?)),
        }
    }

    // ---- updates ----

    fn update(&mut self) -> Result<Update, DynamoError> {
        let mut update = Update::default();
        let mut seen: Vec<String> = Vec::new();
        while self.peek() != &Token::End {
            let Token::Word(clause) = self.advance() else {
                self.position -= 1;
                return Err(self.unexpected());
            };
            let clause = clause.to_ascii_uppercase();
            if seen.contains(&clause) {
                return Err(self.invalid(format!(
                    "The \"{clause}\" section can only be used once in an update expression;"
                )));
            }
            match clause.as_str() {
                "SET" => loop {
                    let path = self.path()?;
                    self.expect_symbol("=")?;
                    update.set.push((path, self.set_value()?));
                    if !self.eat_symbol(",") {
                        break;
                    }
                },
                "REMOVE" => loop {
                    update.remove.push(self.path()?);
                    if !self.eat_symbol(",") {
                        break;
                    }
                },
                "ADD" | "DELETE" => loop {
                    let path = self.path()?;
                    let value = self.value()?;
                    if clause == "ADD" {
                        &mut update.add
                    } else {
                        &mut update.delete
                    }
                    .push((path, value));
                    if !self.eat_symbol(",") {
                        break;
                    }
                },
                _ => {
                    self.position -= 1;
                    return Err(self.unexpected());
                }
            }
            seen.push(clause);
        }
        let paths: Vec<&Path> = update.paths().collect();
        self.reject_overlaps(&paths)?;
        Ok(update)
    }

    /// DynamoDB refuses an expression naming the same data twice (one path a prefix of
    /// another), in the order the paths were written.
    fn reject_overlaps(&self, paths: &[&Path]) -> Result<(), DynamoError> {
        for (i, a) in paths.iter().enumerate() {
            for b in &paths[i + 1..] {
                if a.overlaps(b) {
                    return Err(self.invalid(format!(
                        "Two document paths overlap with each other; must remove or rewrite one of these paths; path one: {}, path two: {}",
                        a.describe(),
                        b.describe()
                    )));
                }
            }
        }
        Ok(())
    }

    fn set_value(&mut self) -> Result<SetValue, DynamoError> {
        let left = self.set_operand()?;
        if self.eat_symbol("+") {
            return Ok(SetValue::Plus(
                Box::new(left),
                Box::new(self.set_operand()?),
            ));
        }
        if self.eat_symbol("-") {
            return Ok(SetValue::Minus(
                Box::new(left),
                Box::new(self.set_operand()?),
            ));
        }
        Ok(left)
    }

    fn set_operand(&mut self) -> Result<SetValue, DynamoError> {
        if let Some(name) = self.function_name() {
            self.position += 2;
            let value = match name.as_str() {
                "if_not_exists" => {
                    let path = self.path()?;
                    self.expect_symbol(",")?;
                    SetValue::IfNotExists(path, Box::new(self.set_value()?))
                }
                "list_append" => {
                    let first = self.set_value()?;
                    self.expect_symbol(",")?;
                    SetValue::ListAppend(Box::new(first), Box::new(self.set_value()?))
                }
                "attribute_exists"
                | "attribute_not_exists"
                | "attribute_type"
                | "begins_with"
                | "contains"
                | "size" => {
                    return Err(self.invalid(format!(
                        "The function is not allowed in an update expression; function: {name}"
                    )));
                }
                other => {
                    return Err(self.invalid(format!("Invalid function name; function: {other}")));
                }
            };
            self.expect_symbol(")")?;
            return Ok(value);
        }
        match self.peek() {
            Token::Value(_) => Ok(SetValue::Value(self.value()?)),
            _ => Ok(SetValue::Path(self.path()?)),
        }
    }
}

/// Symbols are compared as `&'static str`; map a borrowed one back to its static twin.
fn leak(symbol: &str) -> &'static str {
    SYMBOLS
        .iter()
        .chain(["-"].iter())
        .find(|s| **s == symbol)
        .copied()
        .unwrap_or("")
}

pub fn parse_condition(
    source: &str,
    kind: &'static str,
    placeholders: &mut Placeholders,
) -> Result<Condition, DynamoError> {
    let mut parser = Parser::new(source, kind, placeholders)?;
    let condition = parser.condition()?;
    parser.expect_end()?;
    Ok(condition)
}

pub fn parse_update(source: &str, placeholders: &mut Placeholders) -> Result<Update, DynamoError> {
    let mut parser = Parser::new(source, "UpdateExpression", placeholders)?;
    parser.update()
}

pub fn parse_projection(
    source: &str,
    placeholders: &mut Placeholders,
) -> Result<Vec<Path>, DynamoError> {
    let mut parser = Parser::new(source, "ProjectionExpression", placeholders)?;
    let mut paths = vec![parser.path()?];
    while parser.eat_symbol(",") {
        paths.push(parser.path()?);
    }
    parser.expect_end()?;
    parser.reject_overlaps(&paths.iter().collect::<Vec<_>>())?;
    Ok(paths)
}
