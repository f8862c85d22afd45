#!/usr/bin/env pwsh
<#
.SYNOPSIS
    Compiles DaxFs's help pages (platyPS markdown schema 2.0.0) to MAML and about-topic text, like platyPS's New-ExternalHelp.
.DESCRIPTION
    platyPS cannot be installed from the package sources the build machines reach, so this small converter does what
    New-ExternalHelp does for the subset of the schema DaxFs uses (see ../../shared/HELP-SCHEMA.md):

      docs/<Verb-Noun>.md   one page per cmdlet  -> <OutputPath>/<external help file>   (MAML, one helpItems per file)
      docs/about_<X>.md     about topic           -> <OutputPath>/about_<X>.help.txt    (plain text, 80 columns)

    The output is deterministic: pages are read in ordinal file-name order, text is UTF-8 without a BOM with LF line
    ends, and nothing depends on the clock, the culture or the machine. Malformed pages (a missing title, a
    parameter without its yaml block, an unknown yaml key, a section the schema does not have) stop the
    conversion with the file and the problem; whether a page is complete (synopsis, examples, every parameter)
    is checked by tests/Help.Tests.ps1, not here.

    Example conventions (read by tests/Help.Tests.ps1 through -ParseOnly; platyPS ignores them, so pages stay
    valid platyPS markdown):
      - An example is a "### Example N: Title" section of a cmdlet page, or a ```powershell block in an about
        topic. Its ```powershell fenced blocks are the code; they run, in order, in a folder holding copies of
        the sample images (tests/vectors/*.daxfs), with the kernel-made branch fixtures
        (tests/fixtures/branches/*.daxfs) in ./branches, so they name images as ./basic.static.daxfs or
        ./branches/feature.daxfs.
      - Code that needs more than an unprivileged user and a file says so on its first line:
            # Needs: root, dax-device
        The words come from a fixed list (root, dax-device, dma-heap, kernel-module); any other word is an error.
        Such examples are shown by Get-Help like any other but are not run by the test suite.
      - A ```output fenced block after the code is the exact output the code prints (Out-String -Width 120,
        plain text, trailing blanks ignored). The tests compare it; without one they only require some output.
      - Code whose top level calls Describe is a Pester test file: the tests run it with Invoke-Pester in a fresh
        process (in the same folder) and require every test in it to pass.
      As in platyPS, all fenced blocks of an example (code and output) form its dev:code in MAML, joined by a
      blank line, and its paragraphs form dev:remarks.
.PARAMETER DocsPath
    Folder holding the markdown pages.
.PARAMETER OutputPath
    Folder to write the compiled help to (created when missing), normally en-US.
.PARAMETER ParseOnly
    Write nothing; return one object per page (Kind, Name, File, Metadata, Synopsis, Description, Syntax,
    Examples, Parameters, Inputs, Outputs, Notes, Links) for tests and tools.
.EXAMPLE
    ./build/Convert-HelpMarkdown.ps1 -DocsPath ./docs -OutputPath ./en-US
.EXAMPLE
    (./build/Convert-HelpMarkdown.ps1 -DocsPath ./docs -ParseOnly | Where-Object Name -eq Get-DaxFsItem).Examples.Title
#>
[CmdletBinding(DefaultParameterSetName = 'Convert')]
param(
    [Parameter(Mandatory)] [string] $DocsPath,
    [Parameter(Mandatory, ParameterSetName = 'Convert')] [string] $OutputPath,
    [Parameter(Mandatory, ParameterSetName = 'Parse')] [switch] $ParseOnly
)

Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'

$script:NeedsWords = @('root', 'dax-device', 'dma-heap', 'kernel-module')
$script:YamlKeys = @('Type', 'Parameter Sets', 'Aliases', 'Accepted values', 'Required', 'Position', 'Default value',
    'Accept pipeline input', 'Accept wildcard characters')
$script:Utf8 = [Text.UTF8Encoding]::new($false)
$script:Ns = @{
    maml = 'http://schemas.microsoft.com/maml/2004/10'; command = 'http://schemas.microsoft.com/maml/dev/command/2004/10'
    dev = 'http://schemas.microsoft.com/maml/dev/2004/10'; MSHelp = 'http://msdn.microsoft.com/mshelp'
}
$script:SwitchTypes = @('SwitchParameter', 'System.Management.Automation.SwitchParameter', 'switch')

function Stop-Page([string] $File, [string] $Message) { throw "${File}: $Message" }

#region markdown blocks
# Splits markdown into blocks: Heading (Level, Text), Code (Info, Text), Para (Text, List). Paragraph soft line breaks
# become spaces; each list item is its own paragraph with List = $true.
function Read-Block([string] $Text, [string] $File) {
    $lines = $Text -split "`n"
    $blocks = [Collections.Generic.List[object]]::new()
    $para = $null
    $flush = {
        if ($null -ne $para) { $blocks.Add([pscustomobject]@{ Kind = 'Para'; Text = $para.Text; List = $para.List }); $para = $null }
    }
    for ($i = 0; $i -lt $lines.Count; $i++) {
        $line = $lines[$i].TrimEnd()
        if ($line -match '^(\s{0,3})(`{3,}|~{3,})\s*([^`\s]*)') {
            . $flush
            $fence = $Matches[2]; $info = $Matches[3]; $indent = $Matches[1].Length
            $body = [Collections.Generic.List[string]]::new()
            $closed = $false
            for ($i++; $i -lt $lines.Count; $i++) {
                $l = $lines[$i].TrimEnd()
                if ($l -match "^\s{0,3}$([regex]::Escape($fence[0]))" + "{$($fence.Length),}\s*$") { $closed = $true; break }
                if ($indent -gt 0 -and $l.StartsWith(' ' * $indent)) { $l = $l.Substring($indent) }
                $body.Add($l)
            }
            if (-not $closed) { Stop-Page $File "a fenced code block ($fence$info) is never closed." }
            $blocks.Add([pscustomobject]@{ Kind = 'Code'; Info = $info.ToLowerInvariant(); Text = ($body -join "`n") })
            continue
        }
        if ($line -match '^(#{1,6})\s+(.*?)\s*#*\s*$') {
            . $flush
            $blocks.Add([pscustomobject]@{ Kind = 'Heading'; Level = $Matches[1].Length; Text = $Matches[2] })
            continue
        }
        if ($line.Trim() -eq '') { . $flush; continue }
        if ($line -match '^\s*\|') { Stop-Page $File "tables are not supported by the help converter (line $($i + 1)); use a list." }
        if ($line -match '^\s*<') { Stop-Page $File "raw HTML is not supported by the help converter (line $($i + 1))." }
        if ($line -match '^\s{0,3}(?:[-*+]|\d+[.)])\s+(.*)$') {
            . $flush
            $para = @{ Text = $line.Trim(); List = $true }
            continue
        }
        if ($null -eq $para) { $para = @{ Text = $line.Trim(); List = $false } } else { $para.Text += ' ' + $line.Trim() }
    }
    . $flush
    $blocks.ToArray()
}

function Split-FrontMatter([string] $Text, [string] $File) {
    $meta = [ordered]@{}
    if (-not $Text.StartsWith("---`n")) { return $meta, $Text }
    $end = $Text.IndexOf("`n---`n", 3)
    if ($end -lt 0) { Stop-Page $File 'the front matter (between --- lines) is never closed.' }
    foreach ($l in $Text.Substring(4, $end - 3).Split("`n")) {
        if ($l.Trim() -eq '') { continue }
        if ($l -notmatch '^([^:]+):\s*(.*)$') { Stop-Page $File "front matter line '$l' is not 'key: value'." }
        $meta[$Matches[1].Trim()] = $Matches[2].Trim()
    }
    return $meta, $Text.Substring($end + 5)
}

# Groups blocks under headings of one level: ordered list of @{ Title; Blocks }; blocks before the first heading
# go to a section with Title $null.
function Split-Section([object[]] $Blocks, [int] $Level) {
    $sections = [Collections.Generic.List[object]]::new()
    $current = [pscustomobject]@{ Title = $null; Blocks = [Collections.Generic.List[object]]::new() }
    foreach ($b in $Blocks) {
        if ($b.Kind -eq 'Heading' -and $b.Level -eq $Level) {
            if ($null -ne $current.Title -or $current.Blocks.Count) { $sections.Add($current) }
            $current = [pscustomobject]@{ Title = $b.Text; Blocks = [Collections.Generic.List[object]]::new() }
        }
        else { $current.Blocks.Add($b) }
    }
    if ($null -ne $current.Title -or $current.Blocks.Count) { $sections.Add($current) }
    $sections.ToArray()
}

function Get-Para([object[]] $Blocks) { $Blocks | Where-Object Kind -eq 'Para' }
#endregion

#region cmdlet pages
function Read-ParameterYaml([string] $Yaml, [string] $File, [string] $Name) {
    $m = [ordered]@{}
    foreach ($l in $Yaml.Split("`n")) {
        if ($l.Trim() -eq '') { continue }
        if ($l -notmatch '^([A-Za-z][A-Za-z ]*):\s*(.*)$') { Stop-Page $File "parameter -${Name}: yaml line '$l' is not 'Key: value'." }
        $key = $Matches[1].Trim()
        if ($key -cnotin $script:YamlKeys) { Stop-Page $File "parameter -${Name}: unknown yaml key '$key' (known: $($script:YamlKeys -join ', '))." }
        $m[$key] = $Matches[2].Trim()
    }
    foreach ($k in 'Type', 'Parameter Sets', 'Required', 'Position', 'Accept pipeline input') {
        if (-not $m.Contains($k) -or $m[$k] -eq '') { Stop-Page $File "parameter -${Name}: the yaml block has no '$k'." }
    }
    $m
}

function Split-List([string] $Value) { $Value -split ',' | ForEach-Object Trim | Where-Object { $_ -ne '' } }

# 'True', 'False' or 'True (SetA), False (SetB)' -> value for one set.
function Get-PerSet([string] $Value, [string] $Set, [string] $File, [string] $Name, [string] $Key) {
    if ($Value -notmatch '\(') { return $Value }
    foreach ($part in [regex]::Matches($Value, '(\w+)\s*\(([^)]*)\)')) {
        if (@(Split-List $part.Groups[2].Value) -contains $Set) { return $part.Groups[1].Value }
    }
    Stop-Page $File "parameter -${Name}: '${Key}: $Value' says nothing for parameter set '$Set'."
}

function ConvertFrom-Bool([string] $Value, [string] $File, [string] $What) {
    switch ($Value) { 'True' { return $true } 'False' { return $false } }
    Stop-Page $File "$What is '$Value'; expected True or False."
}

function Read-Parameter([object] $Section, [string] $File) {
    $name = $Section.Title.Substring(1)
    $yamls = @($Section.Blocks | Where-Object { $_.Kind -eq 'Code' -and $_.Info -eq 'yaml' })
    if (-not $yamls) { Stop-Page $File "parameter -$name has no ``````yaml block." }
    $desc = @(Get-Para $Section.Blocks)
    $first = $null
    $sets = [Collections.Generic.List[object]]::new()
    foreach ($y in $yamls) {
        $m = Read-ParameterYaml $y.Text $File $name
        if (-not $first) { $first = $m }
        foreach ($set in @(Split-List $m['Parameter Sets'])) {
            $position = $m['Position']
            if ($position -notmatch '^(\d+|Named)$') { Stop-Page $File "parameter -${name}: Position '$position' is neither a number nor Named." }
            if ($m['Accept pipeline input'] -notmatch '^(False|True \((ByValue|ByPropertyName|ByValue, ByPropertyName|ByPropertyName, ByValue|ByRemainingArguments)\))$') {
                Stop-Page $File "parameter -${name}: 'Accept pipeline input: $($m['Accept pipeline input'])' is not False or True (ByValue|ByPropertyName|ByValue, ByPropertyName)."
            }
            $sets.Add([pscustomobject]@{
                Name          = $set
                Required      = ConvertFrom-Bool (Get-PerSet $m['Required'] $set $File $name 'Required') $File "parameter -$name Required"
                Position      = $position
                PipelineInput = $m['Accept pipeline input']
            })
        }
    }
    $type = $first['Type']
    $default = if ($first.Contains('Default value') -and $first['Default value'] -ne '') { $first['Default value'] } else { 'None' }
    $isSwitch = $type -in $script:SwitchTypes
    if ($isSwitch -and $default -eq 'None') { $default = 'False' }
    [pscustomobject]@{
        Name           = $name
        Description    = @($desc.Text)
        Type           = $type
        IsSwitch       = $isSwitch
        Aliases        = @(if ($first.Contains('Aliases')) { Split-List $first['Aliases'] })
        AcceptedValues = @(if ($first.Contains('Accepted values')) { Split-List $first['Accepted values'] })
        Globbing       = if ($first.Contains('Accept wildcard characters')) { ConvertFrom-Bool $first['Accept wildcard characters'] $File "parameter -$name Accept wildcard characters" } else { $false }
        DefaultValue   = $default
        Sets           = $sets.ToArray()
    }
}

function Read-Example([object] $Section, [string] $File, [bool] $IsAbout) {
    $code = [Collections.Generic.List[string]]::new()
    $all = [Collections.Generic.List[string]]::new()
    $output = $null
    foreach ($b in $Section.Blocks | Where-Object Kind -eq 'Code') {
        $all.Add($b.Text)
        if ($b.Info -eq 'output') {
            if ($code.Count -eq 0) { Stop-Page $File "example '$($Section.Title)': an output block comes before any code." }
            $output = $b.Text
        }
        elseif ($b.Info -in 'powershell', 'pwsh', 'ps1', '') { $code.Add($b.Text) }
        else { Stop-Page $File "example '$($Section.Title)': fenced block '$($b.Info)' is neither powershell nor output." }
    }
    if (-not $IsAbout -and $code.Count -eq 0) { Stop-Page $File "example '$($Section.Title)' has no ``````powershell block." }
    $needs = @()
    if ($code.Count -and ($code[0] -split "`n")[0] -match '^\s*#\s*Needs:\s*(.*)$') {
        $needs = @(Split-List $Matches[1])
        $bad = @($needs | Where-Object { $_ -cnotin $script:NeedsWords })
        if ($bad -or -not $needs) { Stop-Page $File "example '$($Section.Title)': '# Needs:' lists '$($bad -join ', ')'; use only $($script:NeedsWords -join ', ')." }
    }
    [pscustomobject]@{
        Title   = $Section.Title
        Code    = ($code -join "`n`n")
        Output  = $output
        Needs   = $needs
        AllCode = $all.ToArray()
        Remarks = @(Get-Para $Section.Blocks)
    }
}

function Read-CommandPage([IO.FileInfo] $Item) {
    $file = $Item.Name
    $text = [IO.File]::ReadAllText($Item.FullName, $script:Utf8).Replace("`r`n", "`n")
    $meta, $body = Split-FrontMatter $text $file
    foreach ($k in 'external help file', 'Module Name', 'schema') {
        if (-not $meta.Contains($k) -or $meta[$k] -eq '') { Stop-Page $file "the front matter has no '$k'." }
    }
    if ($meta['schema'] -ne '2.0.0') { Stop-Page $file "schema is '$($meta['schema'])'; this converter reads schema 2.0.0." }
    $blocks = @(Read-Block $body $file)
    $top = @(Split-Section $blocks 1)
    $name = $Item.BaseName
    if ($top.Count -ne 1 -or $top[0].Title -cne $name) { Stop-Page $file "the page must have exactly one '# $name' title, first." }
    $page = [ordered]@{
        Kind = 'Command'; Name = $name; File = $Item.FullName; Metadata = $meta
        Synopsis = @(); Description = @(); Syntax = @(); Examples = @(); Parameters = @(); Inputs = @(); Outputs = @(); Notes = @(); Links = @()
        HasCommonParameters = $false
    }
    $seen = @{}
    foreach ($s in Split-Section $top[0].Blocks.ToArray() 2) {
        if ($null -eq $s.Title) { if (Get-Para $s.Blocks) { Stop-Page $file 'text before the first ## section.' }; continue }
        if ($seen.ContainsKey($s.Title)) { Stop-Page $file "section '## $($s.Title)' appears twice." }
        $seen[$s.Title] = $true
        $subs = @(Split-Section $s.Blocks.ToArray() 3)
        switch -CaseSensitive ($s.Title) {
            'SYNOPSIS' { $page.Synopsis = @((Get-Para $s.Blocks).Text) }
            'DESCRIPTION' { $page.Description = @(Get-Para $s.Blocks) }
            'ALIASES' { }
            'SYNTAX' {
                $page.Syntax = @(foreach ($sub in $subs) {
                    $codeBlock = @($sub.Blocks | Where-Object Kind -eq 'Code') | Select-Object -First 1
                    $setName = $sub.Title; $default = $false
                    if ($null -ne $setName -and $setName -match '^(.*?)\s*\(Default\)$') { $setName = $Matches[1]; $default = $true }
                    if ($null -eq $codeBlock) { if ($null -ne $sub.Title) { Stop-Page $file "syntax '$($sub.Title)' has no fenced block." }; continue }
                    [pscustomobject]@{ Name = $setName; IsDefault = $default; Text = $codeBlock.Text }
                })
            }
            'EXAMPLES' {
                $page.Examples = @(foreach ($sub in $subs) {
                    if ($null -eq $sub.Title) { if ($sub.Blocks.Count) { Stop-Page $file 'EXAMPLES has content before its first ### example.' }; continue }
                    Read-Example $sub $file $false
                })
            }
            'PARAMETERS' {
                $page.Parameters = @(foreach ($sub in $subs) {
                    if ($null -eq $sub.Title) { continue }
                    if ($sub.Title -match '^(CommonParameters|<CommonParameters>)$') { $page.HasCommonParameters = $true; continue }
                    if (-not $sub.Title.StartsWith('-')) { Stop-Page $file "parameter heading '### $($sub.Title)' must be '### -Name'." }
                    Read-Parameter $sub $file
                })
            }
            { $_ -in 'INPUTS', 'OUTPUTS' } {
                $list = @(foreach ($sub in $subs) {
                    if ($null -eq $sub.Title) { if (Get-Para $sub.Blocks) { Stop-Page $file "$($s.Title) text must sit under a ### type heading." }; continue }
                    [pscustomobject]@{ TypeName = $sub.Title; Description = @((Get-Para $sub.Blocks).Text) }
                })
                if ($s.Title -eq 'INPUTS') { $page.Inputs = $list } else { $page.Outputs = $list }
            }
            'NOTES' { $page.Notes = @(Get-Para $s.Blocks) }
            'RELATED LINKS' {
                $page.Links = @(foreach ($p in Get-Para $s.Blocks) {
                    # Plain-text lines are dropped, as platyPS does (IsSimplifiedTextLink).
                    if ($p.Text -match '^(?:[-*]\s+)?\[([^\]]+)\]\(([^)]*)\)\s*$') {
                        $uri = $Matches[2]; $abs = $null
                        [pscustomobject]@{ Text = $Matches[1]; Uri = $(if ([Uri]::TryCreate($uri, 'Absolute', [ref]$abs) -and $abs.Scheme -in 'http', 'https') { $uri } else { '' }); Target = $uri }
                    }
                })
            }
            default { Stop-Page $file "unknown section '## $($s.Title)'." }
        }
    }
    [pscustomobject]$page
}
#endregion

#region MAML
function Write-Para([Xml.XmlWriter] $W, [object[]] $Paras) {
    # One maml:para per paragraph; an empty one after a list, before ordinary text (as platyPS does).
    for ($i = 0; $i -lt $Paras.Count; $i++) {
        if ($i -gt 0 -and $Paras[$i - 1].List -and -not $Paras[$i].List) { $W.WriteElementString('maml', 'para', $script:Ns.maml, '') }
        $W.WriteElementString('maml', 'para', $script:Ns.maml, $Paras[$i].Text)
    }
}

function Write-Description([Xml.XmlWriter] $W, [object[]] $Paras) {
    $W.WriteStartElement('maml', 'description', $script:Ns.maml); Write-Para $W $Paras; $W.WriteEndElement()
}

function Write-Parameter([Xml.XmlWriter] $W, [object] $P, [object] $Set, [bool] $InSyntax) {
    $W.WriteStartElement('command', 'parameter', $script:Ns.command)
    $W.WriteAttributeString('required', "$($Set.Required)".ToLowerInvariant())
    $W.WriteAttributeString('variableLength', 'true')
    $W.WriteAttributeString('globbing', "$($P.Globbing)".ToLowerInvariant())
    $W.WriteAttributeString('pipelineInput', $Set.PipelineInput)
    $W.WriteAttributeString('position', $(if ($Set.Position -eq 'Named') { 'named' } else { $Set.Position }))
    $W.WriteAttributeString('aliases', $(if ($P.Aliases.Count) { $P.Aliases -join ', ' } else { 'none' }))
    $W.WriteElementString('maml', 'name', $script:Ns.maml, $P.Name)
    $W.WriteStartElement('maml', 'description', $script:Ns.maml)
    foreach ($t in $P.Description) { $W.WriteElementString('maml', 'para', $script:Ns.maml, $t) }
    $W.WriteEndElement()
    $type = if ($P.IsSwitch) { 'SwitchParameter' } else { $P.Type }
    if ($InSyntax -and $P.AcceptedValues.Count) {
        $W.WriteStartElement('command', 'parameterValueGroup', $script:Ns.command)
        foreach ($v in $P.AcceptedValues) {
            $W.WriteStartElement('command', 'parameterValue', $script:Ns.command)
            $W.WriteAttributeString('required', 'false'); $W.WriteAttributeString('variableLength', 'false')
            $W.WriteString($v); $W.WriteEndElement()
        }
        $W.WriteEndElement()
    }
    if (-not ($InSyntax -and $P.IsSwitch)) {
        $W.WriteStartElement('command', 'parameterValue', $script:Ns.command)
        $W.WriteAttributeString('required', $(if ($P.IsSwitch) { 'false' } else { 'true' })); $W.WriteAttributeString('variableLength', 'false')
        $W.WriteString($type); $W.WriteEndElement()
    }
    $W.WriteStartElement('dev', 'type', $script:Ns.dev)
    $W.WriteElementString('maml', 'name', $script:Ns.maml, $type)
    $W.WriteStartElement('maml', 'uri', $script:Ns.maml); $W.WriteEndElement()
    $W.WriteEndElement()
    $W.WriteElementString('dev', 'defaultValue', $script:Ns.dev, $P.DefaultValue)
    $W.WriteEndElement()
}

# The syntax items: one per parameter set (markdown order of the SYNTAX headings, else first appearance), each
# with its parameters in page order, stably sorted by position so positional ones come first (platyPS FillUpSyntax).
function Get-SyntaxItem([object] $Page) {
    $names = [Collections.Generic.List[string]]::new()
    foreach ($s in $Page.Syntax) { if ($null -ne $s.Name -and -not $names.Contains($s.Name)) { $names.Add($s.Name) } }
    foreach ($p in $Page.Parameters) { foreach ($s in $p.Sets) { if ($s.Name -ne '(All)' -and -not $names.Contains($s.Name)) { $names.Add($s.Name) } } }
    if ($names.Count -eq 0) { $names.Add('(All)') }
    foreach ($n in $names) {
        if ($n -ne '(All)' -and -not ($Page.Parameters | Where-Object { $_.Sets.Name -contains $n })) {
            Stop-Page (Split-Path -Leaf $Page.File) "the SYNTAX names parameter set '$n' but no parameter belongs to it."
        }
    }
    foreach ($n in $names) {
        $rows = [Collections.Generic.List[object]]::new()
        $i = 0
        foreach ($p in $Page.Parameters) {
            $set = @($p.Sets | Where-Object Name -eq $n) + @($p.Sets | Where-Object Name -eq '(All)') | Select-Object -First 1
            if ($null -eq $set) { continue }
            $key = if ($set.Position -eq 'Named') { [int]::MaxValue } else { [int]$set.Position }
            $rows.Add([pscustomobject]@{ Key = $key; Index = $i++; Parameter = $p; Set = $set })
        }
        [pscustomobject]@{ Name = $n; Rows = @($rows | Sort-Object Key, Index) }
    }
}

function Get-ExampleTitle([string] $Title) {
    # platyPS pads titles with dashes to about 64 characters (MamlRenderer.PadExampleTitle).
    if ([string]::IsNullOrWhiteSpace($Title) -or $Title.Length -ge 62) { return $Title }
    $pad = [Math]::Floor((64 - $Title.Length - 2) / 2)
    ('-' * $pad) + ' ' + $Title + ' ' + ('-' * $pad)
}

function Write-Maml([object[]] $Pages, [string] $Path) {
    $settings = [Xml.XmlWriterSettings]::new()
    $settings.Indent = $true; $settings.IndentChars = '  '; $settings.NewLineChars = "`n"; $settings.Encoding = $script:Utf8
    $settings.NewLineHandling = 'None'
    $stream = [IO.MemoryStream]::new()
    $w = [Xml.XmlWriter]::Create($stream, $settings)
    $w.WriteStartDocument()
    $w.WriteStartElement('helpItems', 'http://msh')
    $w.WriteAttributeString('schema', 'maml')
    foreach ($page in $Pages) {
        $w.WriteStartElement('command', 'command', $script:Ns.command)
        foreach ($p in 'maml', 'command', 'dev', 'MSHelp') { $w.WriteAttributeString('xmlns', $p, 'http://www.w3.org/2000/xmlns/', $script:Ns[$p]) }
        $verb, $noun = $page.Name.Split('-', 2)
        $w.WriteStartElement('command', 'details', $script:Ns.command)
        $w.WriteElementString('command', 'name', $script:Ns.command, $page.Name)
        $w.WriteElementString('command', 'verb', $script:Ns.command, $verb)
        $w.WriteElementString('command', 'noun', $script:Ns.command, $noun)
        $w.WriteStartElement('maml', 'description', $script:Ns.maml)
        foreach ($t in $page.Synopsis) { $w.WriteElementString('maml', 'para', $script:Ns.maml, $t) }
        $w.WriteEndElement()
        $w.WriteEndElement()
        Write-Description $w $page.Description
        $w.WriteStartElement('command', 'syntax', $script:Ns.command)
        foreach ($item in Get-SyntaxItem $page) {
            $w.WriteStartElement('command', 'syntaxItem', $script:Ns.command)
            $w.WriteElementString('maml', 'name', $script:Ns.maml, $page.Name)
            foreach ($r in $item.Rows) { Write-Parameter $w $r.Parameter $r.Set $true }
            $w.WriteEndElement()
        }
        $w.WriteEndElement()
        $w.WriteStartElement('command', 'parameters', $script:Ns.command)
        foreach ($p in $page.Parameters) {
            # Required in the parameters list only when required in every set it belongs to.
            $all = [pscustomobject]@{ Required = -not ($p.Sets | Where-Object { -not $_.Required }); Position = $p.Sets[0].Position; PipelineInput = $p.Sets[0].PipelineInput }
            Write-Parameter $w $p $all $false
        }
        $w.WriteEndElement()
        foreach ($io in @(@('inputTypes', 'inputType', $page.Inputs), @('returnValues', 'returnValue', $page.Outputs))) {
            $w.WriteStartElement('command', $io[0], $script:Ns.command)
            foreach ($t in $io[2]) {
                $w.WriteStartElement('command', $io[1], $script:Ns.command)
                $w.WriteStartElement('dev', 'type', $script:Ns.dev); $w.WriteElementString('maml', 'name', $script:Ns.maml, $t.TypeName); $w.WriteEndElement()
                $w.WriteStartElement('maml', 'description', $script:Ns.maml)
                foreach ($d in $t.Description) { $w.WriteElementString('maml', 'para', $script:Ns.maml, $d) }
                $w.WriteEndElement()
                $w.WriteEndElement()
            }
            $w.WriteEndElement()
        }
        $w.WriteStartElement('maml', 'alertSet', $script:Ns.maml); $w.WriteStartElement('maml', 'alert', $script:Ns.maml)
        Write-Para $w $page.Notes
        $w.WriteEndElement(); $w.WriteEndElement()
        $w.WriteStartElement('command', 'examples', $script:Ns.command)
        foreach ($e in $page.Examples) {
            $w.WriteStartElement('command', 'example', $script:Ns.command)
            $w.WriteElementString('maml', 'title', $script:Ns.maml, (Get-ExampleTitle $e.Title))
            $w.WriteElementString('dev', 'code', $script:Ns.dev, ($e.AllCode -join "`n`n"))
            $w.WriteStartElement('dev', 'remarks', $script:Ns.dev); Write-Para $w $e.Remarks; $w.WriteEndElement()
            $w.WriteEndElement()
        }
        $w.WriteEndElement()
        $w.WriteStartElement('command', 'relatedLinks', $script:Ns.command)
        foreach ($l in $page.Links) {
            $w.WriteStartElement('maml', 'navigationLink', $script:Ns.maml)
            $w.WriteElementString('maml', 'linkText', $script:Ns.maml, $l.Text)
            $w.WriteElementString('maml', 'uri', $script:Ns.maml, $l.Uri)
            $w.WriteEndElement()
        }
        $w.WriteEndElement()
        $w.WriteEndElement()
    }
    $w.WriteEndElement()
    $w.WriteEndDocument()
    $w.Flush(); $w.Dispose()
    $bytes = $stream.ToArray()
    [IO.File]::WriteAllBytes($Path, [byte[]]($bytes + [byte]10))
}
#endregion

#region about topics
function Read-AboutPage([IO.FileInfo] $Item) {
    $file = $Item.Name
    $text = [IO.File]::ReadAllText($Item.FullName, $script:Utf8).Replace("`r`n", "`n")
    $meta, $body = Split-FrontMatter $text $file
    $blocks = @(Read-Block $body $file)
    if (-not $blocks -or $blocks[0].Kind -ne 'Heading' -or $blocks[0].Level -ne 1) { Stop-Page $file "an about topic starts with '# $($Item.BaseName)'." }
    $topic = $blocks[0].Text
    $rest = @($blocks | Select-Object -Skip 1)
    # platyPS's about schema: "# Title" then "## about_lookupname" (optional here).
    if ($rest -and $rest[0].Kind -eq 'Heading' -and $rest[0].Level -eq 2 -and $rest[0].Text -match '^about_\S+$') { $topic = $rest[0].Text; $rest = @($rest | Select-Object -Skip 1) }
    if ($topic -notmatch '^about_\S+$' -or $topic -ne $Item.BaseName) { Stop-Page $file "the topic name '$topic' must be the file name '$($Item.BaseName)'." }
    # Examples: each ```powershell block, with the ```output block right after it.
    $examples = [Collections.Generic.List[object]]::new()
    $heading = $null
    for ($i = 0; $i -lt $rest.Count; $i++) {
        $b = $rest[$i]
        if ($b.Kind -eq 'Heading') { $heading = $b.Text; continue }
        if ($b.Kind -ne 'Code' -or $b.Info -notin 'powershell', 'pwsh', 'ps1') { continue }
        $section = [pscustomobject]@{ Title = "$heading, block $($examples.Count + 1)"; Blocks = [Collections.Generic.List[object]]::new() }
        $section.Blocks.Add($b)
        if ($i + 1 -lt $rest.Count -and $rest[$i + 1].Kind -eq 'Code' -and $rest[$i + 1].Info -eq 'output') { $section.Blocks.Add($rest[$i + 1]) }
        $examples.Add((Read-Example $section $file $true))
    }
    [pscustomobject]@{
        Kind = 'About'; Name = $topic; File = $Item.FullName; Metadata = $meta; Blocks = $rest; Examples = $examples.ToArray()
        Synopsis = @(); Description = @(); Syntax = @(); Parameters = @(); Inputs = @(); Outputs = @(); Notes = @(); Links = @()
    }
}

function Get-WrappedLine([string] $Text, [string] $First, [string] $Rest, [int] $Width = 80) {
    $lines = [Collections.Generic.List[string]]::new()
    $line = $First
    $empty = $true
    foreach ($word in $Text -split '\s+' | Where-Object { $_ }) {
        if (-not $empty -and $line.Length + 1 + $word.Length -gt $Width) { $lines.Add($line); $line = $Rest; $empty = $true }
        $line = if ($empty) { $line + $word } else { "$line $word" }
        $empty = $false
    }
    if (-not $empty) { $lines.Add($line) }
    $lines.ToArray()
}

function Write-AboutText([object] $Page, [string] $Path) {
    $sb = [Text.StringBuilder]::new()
    $nl = { param($s) [void]$sb.Append($s).Append("`n") }
    & $nl 'TOPIC'
    & $nl ('    ' + $Page.Name.ToLowerInvariant())
    & $nl ''
    $blocks = $Page.Blocks
    for ($i = 0; $i -lt $blocks.Count; $i++) {
        $b = $blocks[$i]
        switch ($b.Kind) {
            'Heading' {
                if ($sb.Length -ge 2 -and $sb.ToString($sb.Length - 2, 2) -ne "`n`n") { & $nl '' }
                switch ($b.Level) { 1 { & $nl $b.Text.ToUpperInvariant() } 2 { & $nl $b.Text } default { & $nl ('    ' + $b.Text) } }
            }
            'Para' {
                if ($b.List) {
                    $marker = ($b.Text -split '\s+', 2)[0]
                    $body = ($b.Text -split '\s+', 2)[1]
                    foreach ($l in Get-WrappedLine $body "    $marker " (' ' * (5 + $marker.Length))) { & $nl $l }
                    if ($i + 1 -ge $blocks.Count -or $blocks[$i + 1].Kind -ne 'Para' -or -not $blocks[$i + 1].List) { & $nl '' }
                }
                else {
                    foreach ($l in Get-WrappedLine $b.Text '    ' '    ') { & $nl $l }
                    & $nl ''
                }
            }
            'Code' {
                foreach ($l in $b.Text.Split("`n")) { & $nl $(if ($l) { "    $l" } else { '' }) }
                & $nl ''
            }
        }
    }
    $text = $sb.ToString().TrimEnd("`n") + "`n"
    [IO.File]::WriteAllText($Path, $text, $script:Utf8)
}
#endregion

$docs = (Resolve-Path -LiteralPath $DocsPath).ProviderPath
[IO.FileInfo[]] $files = @(Get-ChildItem -LiteralPath $docs -Filter '*.md' -File)
[string[]] $names = @($files.Name)
[Array]::Sort($names, $files, [StringComparer]::Ordinal)
$pages = @(foreach ($f in $files) {
    if ($f.BaseName -like 'about_*') { Read-AboutPage $f } else { Read-CommandPage $f }
})
if ($ParseOnly) { return $pages }

New-Item -ItemType Directory -Force -Path $OutputPath | Out-Null
$out = (Resolve-Path -LiteralPath $OutputPath).ProviderPath
$commandPages = @($pages | Where-Object Kind -eq 'Command')
$groups = [ordered]@{}
foreach ($p in $commandPages) {
    $target = $p.Metadata['external help file']
    if ($target -notmatch '^[\w.]+-Help\.xml$') { Stop-Page (Split-Path -Leaf $p.File) "external help file '$target' is not a '<Assembly>-Help.xml' name." }
    if (-not $groups.Contains($target)) { $groups[$target] = [Collections.Generic.List[object]]::new() }
    $groups[$target].Add($p)
}
foreach ($target in $groups.Keys) {
    Write-Maml $groups[$target].ToArray() (Join-Path $out $target)
    Write-Verbose "Wrote $(Join-Path $out $target) ($($groups[$target].Count) cmdlets)"
}
foreach ($p in $pages | Where-Object Kind -eq 'About') {
    Write-AboutText $p (Join-Path $out "$($p.Name).help.txt")
    Write-Verbose "Wrote $(Join-Path $out "$($p.Name).help.txt")"
}
