# Help: one page per exported cmdlet with everything Get-Help needs, compiled MAML in sync with docs/, and every
# example in the docs run against the sample images. The cmdlet list comes from the manifest's CmdletsToExport, so a
# cmdlet added there without a page fails here.
BeforeDiscovery {
    $repo = (Resolve-Path (Join-Path $PSScriptRoot '..')).Path
    $manifestPath = if ($env:DAXFS_MODULE_PATH) { $env:DAXFS_MODULE_PATH } else { Join-Path $repo 'out/DaxFs/DaxFs.psd1' }
    $cmdlets = @((Import-PowerShellDataFile $manifestPath).CmdletsToExport | ForEach-Object { @{ Name = $_ } })
    $pages = @(& (Join-Path $repo 'build/Convert-HelpMarkdown.ps1') -DocsPath (Join-Path $repo 'docs') -ParseOnly)
    $examples = @(foreach ($p in $pages) {
        $n = 0
        foreach ($e in $p.Examples) {
            $n++
            @{ Page = $p.Name; Title = $(if ($p.Kind -eq 'About') { "code block $n" } else { $e.Title }); Example = $e }
        }
    })
}

BeforeAll {
    . (Join-Path $PSScriptRoot 'Common.ps1')
    $Converter = Join-Path $RepoRoot 'build/Convert-HelpMarkdown.ps1'
    $Docs = Join-Path $RepoRoot 'docs'
    $ManifestPath = (Resolve-Path $env:DAXFS_MODULE_PATH).Path
    $Manifest = Import-PowerShellDataFile $ManifestPath
    $HelpFile = "$($Manifest.RootModule)-Help.xml"
    $Pages = @(& $Converter -DocsPath $Docs -ParseOnly)
    $CommonParameters = [System.Management.Automation.PSCmdlet]::CommonParameters

    function Get-Page([string] $Name) { $Pages | Where-Object { $_.Kind -eq 'Command' -and $_.Name -ceq $Name } }

    # What the markdown yaml must say for a compiled parameter (platyPS's wording).
    function Get-PipelineText($SetMetadata) {
        if ($SetMetadata.ValueFromPipeline -and $SetMetadata.ValueFromPipelineByPropertyName) { 'True (ByValue, ByPropertyName)' }
        elseif ($SetMetadata.ValueFromPipeline) { 'True (ByValue)' }
        elseif ($SetMetadata.ValueFromPipelineByPropertyName) { 'True (ByPropertyName)' }
        else { 'False' }
    }

    # Differences between a page's parameter blocks and the compiled cmdlet, as sentences (none when they agree).
    # WhatIf and Confirm count as parameters to document, as platyPS writes them; the common parameters do not.
    function Get-ParameterProblem($Page, $Command) {
        $problems = [Collections.Generic.List[string]]::new()
        $actual = @($Command.Parameters.Values | Where-Object { $_.Name -notin $CommonParameters })
        foreach ($p in $actual) { if ($p.Name -notin $Page.Parameters.Name) { $problems.Add("-$($p.Name) is not documented") } }
        foreach ($d in $Page.Parameters) { if ($d.Name -notin $actual.Name) { $problems.Add("-$($d.Name) is documented but the cmdlet has no such parameter") } }
        foreach ($p in $actual) {
            $d = $Page.Parameters | Where-Object Name -eq $p.Name
            if (-not $d) { continue }
            if ($d.Type -cne $p.ParameterType.FullName) { $problems.Add("-$($p.Name): Type is '$($d.Type)', the cmdlet says '$($p.ParameterType.FullName)'") }
            if ((@($d.Aliases | Sort-Object) -join ',') -cne (@($p.Aliases | Sort-Object) -join ',')) { $problems.Add("-$($p.Name): Aliases are '$($d.Aliases -join ', ')', the cmdlet has '$($p.Aliases -join ', ')'") }
            $wild = [bool]($p.Attributes | Where-Object { $_ -is [System.Management.Automation.SupportsWildcardsAttribute] })
            if ($d.Globbing -ne $wild) { $problems.Add("-$($p.Name): Accept wildcard characters is $($d.Globbing), the cmdlet says $wild") }
            $element = if ($p.ParameterType.IsArray) { $p.ParameterType.GetElementType() } else { $p.ParameterType }
            $validateSet = $p.Attributes | Where-Object { $_ -is [System.Management.Automation.ValidateSetAttribute] } | Select-Object -First 1
            $values = if ($validateSet) { @($validateSet.ValidValues) } elseif ($element.IsEnum) { [Enum]::GetNames($element) } else { @() }
            if (($d.AcceptedValues -join ', ') -cne ($values -join ', ')) { $problems.Add("-$($p.Name): Accepted values are '$($d.AcceptedValues -join ', ')', the cmdlet takes '$($values -join ', ')'") }
            $sets = @($p.ParameterSets.Keys)
            $documentedSets = @($d.Sets.Name | Select-Object -Unique)
            $expectedSets = if ($sets -eq '__AllParameterSets') { @('(All)') } else { $sets }
            if ((@($documentedSets | Sort-Object) -join ',') -cne (@($expectedSets | Sort-Object) -join ',')) {
                $problems.Add("-$($p.Name): Parameter Sets are '$($documentedSets -join ', ')', the cmdlet has '$($expectedSets -join ', ')'")
                continue
            }
            foreach ($setName in $sets) {
                $m = $p.ParameterSets[$setName]
                $s = $d.Sets | Where-Object { $_.Name -eq $setName -or $_.Name -eq '(All)' } | Select-Object -First 1
                $position = if ($m.Position -lt 0) { 'Named' } else { "$($m.Position)" }
                if ($s.Required -ne $m.IsMandatory) { $problems.Add("-$($p.Name) ($setName): Required is $($s.Required), the cmdlet says $($m.IsMandatory)") }
                if ($s.Position -cne $position) { $problems.Add("-$($p.Name) ($setName): Position is $($s.Position), the cmdlet says $position") }
                $pipe = Get-PipelineText $m
                if ($s.PipelineInput -cne $pipe) { $problems.Add("-$($p.Name) ($setName): Accept pipeline input is '$($s.PipelineInput)', the cmdlet says '$pipe'") }
            }
        }
        , $problems.ToArray()
    }

    # A MAML file as lines that ignore how it is laid out (indentation, line ends, namespace prefixes, the case of
    # element names): what New-ExternalHelp and build/Convert-HelpMarkdown.ps1 must agree on.
    function ConvertTo-CanonicalMaml([string] $Path) {
        $doc = [Xml.XmlDocument]::new()
        $doc.Load($Path)
        $lines = [Collections.Generic.List[string]]::new()
        $walk = {
            param([Xml.XmlNode] $Node, [int] $Depth)
            foreach ($c in $Node.ChildNodes) {
                if ($c -is [Xml.XmlElement]) {
                    $attrs = @($c.Attributes | Where-Object { $_.Prefix -ne 'xmlns' -and $_.Name -ne 'xmlns' } |
                        ForEach-Object { "$($_.LocalName)=$($_.Value)" } | Sort-Object)
                    $lines.Add(('  ' * $Depth) + "<$($c.NamespaceURI)|$($c.LocalName.ToLowerInvariant()) $($attrs -join ' ')>")
                    & $walk $c ($Depth + 1)
                }
                elseif ($c -is [Xml.XmlText] -or $c -is [Xml.XmlCDataSection]) {
                    $text = (($c.Value -replace "`r`n", "`n") -split "`n" | ForEach-Object TrimEnd) -join "`n"
                    $lines.Add(('  ' * $Depth) + $text.Trim())
                }
            }
        }
        & $walk $doc.DocumentElement 0
        , $lines.ToArray()
    }

    function Compare-Line([string[]] $Committed, [string[]] $Fresh) {
        for ($i = 0; $i -lt [Math]::Max($Committed.Count, $Fresh.Count); $i++) {
            $a = if ($i -lt $Committed.Count) { $Committed[$i] } else { '<end>' }
            $b = if ($i -lt $Fresh.Count) { $Fresh[$i] } else { '<end>' }
            if ($a -cne $b) { return "item $($i + 1): committed '$a', docs/ gives '$b'" }
        }
        $null
    }

    # Output as the console shows it at 120 columns, without colours or trailing blanks.
    function Format-ExampleOutput($Objects) {
        $rendering = $PSStyle.OutputRendering
        $PSStyle.OutputRendering = 'PlainText'
        try { $text = $Objects | Out-String -Width 120 } finally { $PSStyle.OutputRendering = $rendering }
        (($text -replace "`r`n", "`n") -split "`n" | ForEach-Object TrimEnd) -join "`n" -replace '^\n+', '' -replace '\n+$', ''
    }

    # A folder with a copy of the module's sample images (samples/ of the staged module: the vectors, ./damaged.daxfs and
    # ./branches/*.daxfs, ./overlay/*; see samples/README.md), where the examples run: what a user gets by copying that folder.
    function New-ExampleFolder {
        $dir = Join-Path $TestDrive ('examples-' + [Guid]::NewGuid().ToString('n'))
        $samples = Join-Path (Split-Path $ManifestPath) 'samples'
        if (-not (Test-Path (Join-Path $samples 'basic.static.daxfs'))) { throw "The staged module has no sample images in $samples (run the Build task)." }
        Copy-Item -Recurse $samples $dir
        $dir
    }

    function Test-IsPesterCode([string] $Code) {
        $ast = [Management.Automation.Language.Parser]::ParseInput($Code, [ref]$null, [ref]$null)
        [bool]($ast.EndBlock.Statements | Where-Object { $_ -is [Management.Automation.Language.PipelineAst] } |
                ForEach-Object { $_.PipelineElements } | Where-Object {
                    $_ -is [Management.Automation.Language.CommandAst] -and $_.GetCommandName() -eq 'Describe' })
    }
}

Describe 'Help page of <Name>' -ForEach $cmdlets {
    BeforeAll {
        $page = Get-Page $Name
        $command = Get-Command $Name -Module DaxFs -ErrorAction SilentlyContinue
    }
    It 'has a page docs/<Name>.md' {
        Join-Path $Docs "$Name.md" | Should -Exist
        $page | Should -Not -BeNullOrEmpty
    }
    It 'is exported by the staged module' {
        $command | Should -Not -BeNullOrEmpty -Because "the manifest lists $Name in CmdletsToExport"
    }
    It 'names the module and its help file in the front matter' {
        $page.Metadata['Module Name'] | Should -BeExactly 'DaxFs'
        $page.Metadata['external help file'] | Should -BeExactly $HelpFile
    }
    It 'has a synopsis, a description and at least one example' {
        ($page.Synopsis -join ' ').Trim() | Should -Not -BeNullOrEmpty
        ($page.Description.Text -join ' ').Trim() | Should -Not -BeNullOrEmpty
        @($page.Examples).Count | Should -BeGreaterThan 0
        foreach ($e in $page.Examples) { $e.Code.Trim() | Should -Not -BeNullOrEmpty -Because "example '$($e.Title)' needs code" }
    }
    It 'documents every parameter with the metadata of the compiled cmdlet' {
        $command | Should -Not -BeNullOrEmpty
        Get-ParameterProblem $page $command | Should -BeNullOrEmpty
        foreach ($p in $page.Parameters) { ($p.Description -join ' ').Trim() | Should -Not -BeNullOrEmpty -Because "-$($p.Name) needs a description" }
    }
    It 'shows every parameter set in SYNTAX with the parameters Get-Command -Syntax shows' {
        # Set names, the (Default) marker and the parameter names in order; type names may be spelled as platyPS
        # spells them (<String> where Get-Command writes <string>).
        $command | Should -Not -BeNullOrEmpty
        $sets = @($command.ParameterSets)
        $names = { param([string] $Text) (@([regex]::Matches($Text, '(?<![\w-])-([A-Za-z]\w*)') | ForEach-Object { $_.Groups[1].Value }) -join ' ') }
        $expected = @(foreach ($s in $sets) {
            $isDefault = $sets.Count -gt 1 -and $s.Name -eq $command.DefaultParameterSet
            '{0}{1}: {2}' -f $(if ($sets.Count -gt 1) { $s.Name } else { '' }), $(if ($isDefault) { ' (Default)' } else { '' }), (& $names "$s")
        })
        $documented = @(foreach ($s in $page.Syntax) {
            $s.Text.Trim() | Should -BeLike "$Name *"
            '{0}{1}: {2}' -f $s.Name, $(if ($s.IsDefault) { ' (Default)' } else { '' }), (& $names $s.Text)
        })
        $documented | Should -Be $expected
    }
    It 'documents its input and output types' {
        @($page.Inputs).Count + @($page.Outputs).Count | Should -BeGreaterThan 0
        foreach ($t in @($command.OutputType | ForEach-Object Type)) { $page.Outputs.TypeName | Should -Contain $t.FullName }
    }
    It 'shows synopsis, parameters and examples in Get-Help -Full' {
        $help = Get-Help $Name -Full
        $help.Synopsis | Should -BeExactly ($page.Synopsis -join ' ')
        @($help.parameters.parameter.name) | Sort-Object | Should -Be @($page.Parameters.Name | Sort-Object)
        @($help.examples.example).Count | Should -Be @($page.Examples).Count
        foreach ($e in $help.examples.example) { $e.code | Should -Not -BeNullOrEmpty }
        ($help | Out-String -Width 200) | Should -Match ([regex]::Escape($page.Examples[0].Title))
    }
}

Describe 'Help pages and compiled help' {
    It 'documents only cmdlets the manifest exports' {
        $orphans = @($Pages | Where-Object { $_.Kind -eq 'Command' -and $_.Name -cnotin $Manifest.CmdletsToExport } | ForEach-Object Name)
        $orphans | Should -BeNullOrEmpty -Because 'every page in docs/ must belong to a cmdlet in CmdletsToExport'
    }
    It 'has the about_DaxFs topic with a short and a long description' {
        $about = $Pages | Where-Object { $_.Kind -eq 'About' -and $_.Name -eq 'about_DaxFs' }
        $about | Should -Not -BeNullOrEmpty
        $about.Blocks | Where-Object { $_.Kind -eq 'Heading' -and $_.Level -eq 1 } | ForEach-Object Text | Should -Contain 'SHORT DESCRIPTION'
        $about.Blocks | Where-Object { $_.Kind -eq 'Heading' -and $_.Level -eq 1 } | ForEach-Object Text | Should -Contain 'LONG DESCRIPTION'
    }
    It 'commits en-US/<_> in sync with docs/' -ForEach @('DaxFs.dll-Help.xml', 'about_DaxFs.help.txt') {
        $fresh = Join-Path $TestDrive 'fresh-en-US'
        & $Converter -DocsPath $Docs -OutputPath $fresh
        $committed = Join-Path $RepoRoot "en-US/$_"
        $committed | Should -Exist -Because 'the compiled help is committed: run ./build.ps1 Docs'
        # Compared by content, so that help compiled by platyPS's New-ExternalHelp passes as well as the converter's.
        $difference = if ($_ -like '*.xml') {
            Compare-Line (ConvertTo-CanonicalMaml $committed) (ConvertTo-CanonicalMaml (Join-Path $fresh $_))
        }
        else {
            $words = { param($p) @((Get-Content -Raw $p) -split '\s+' | Where-Object { $_ }) }
            Compare-Line (& $words $committed) (& $words (Join-Path $fresh $_))
        }
        $difference | Should -BeNullOrEmpty -Because "en-US/$_ is stale: run ./build.ps1 Docs and commit en-US/"
    }
    It 'compiles the same docs to the same bytes every time' {
        $one = Join-Path $TestDrive 'one'; $two = Join-Path $TestDrive 'two'
        & $Converter -DocsPath $Docs -OutputPath $one
        & $Converter -DocsPath $Docs -OutputPath $two
        $files = @(Get-ChildItem $one | ForEach-Object Name)
        $files | Should -Be @('about_DaxFs.help.txt', 'DaxFs.dll-Help.xml')
        foreach ($f in $files) {
            [Convert]::ToBase64String([IO.File]::ReadAllBytes((Join-Path $one $f))) |
                Should -BeExactly ([Convert]::ToBase64String([IO.File]::ReadAllBytes((Join-Path $two $f))))
        }
    }
    It 'ships the compiled help in the staged module' {
        $base = Split-Path $ManifestPath
        Join-Path $base "en-US/$HelpFile" | Should -Exist
        Join-Path $base 'en-US/about_DaxFs.help.txt' | Should -Exist
    }
    It 'shows about_DaxFs through Get-Help' {
        $text = Get-Help about_DaxFs | Out-String
        $text | Should -Match 'SHORT DESCRIPTION'
        $text | Should -Match 'Validation and safety'
    }
    It 'has a manifest that passes Test-ModuleManifest and exports exactly CmdletsToExport' {
        $m = Test-ModuleManifest $ManifestPath -ErrorAction Stop
        @($m.ExportedCmdlets.Keys | Sort-Object) | Should -Be @($Manifest.CmdletsToExport | Sort-Object)
        @((Get-Module DaxFs).ExportedCmdlets.Keys | Sort-Object) | Should -Be @($Manifest.CmdletsToExport | Sort-Object)
    }
}

Describe 'Example <Page>: <Title>' -ForEach $examples {
    BeforeAll { $folder = New-ExampleFolder }
    It 'is valid PowerShell' {
        $errors = $null
        [Management.Automation.Language.Parser]::ParseInput($Example.Code, [ref]$null, [ref]$errors) | Out-Null
        $errors | Should -BeNullOrEmpty
    }
    It 'runs against the sample images and prints its documented output' -Skip:($Example.Needs.Count -gt 0) {
        if (Test-IsPesterCode $Example.Code) {
            # A Pester test file: run it in a fresh process (Pester cannot nest) and require every test to pass.
            $file = Join-Path $folder 'Example.Tests.ps1'
            Set-Content -LiteralPath $file -Value $Example.Code
            $result = Join-Path $folder 'result.json'
            $script = "Import-Module '$(Join-Path (Get-Module Pester).ModuleBase 'Pester.psd1')'; Import-Module '$ManifestPath'; Set-Location '$folder'; " +
                "`$r = Invoke-Pester -Path '$file' -PassThru -Output None; " +
                "@{ Passed = `$r.PassedCount; Failed = `$r.FailedCount + `$r.FailedBlocksCount + `$r.FailedContainersCount } | ConvertTo-Json | Set-Content '$result'"
            # This PowerShell again: pwsh, or dotnet running pwsh.dll when it runs as a .NET tool.
            $exe = [Environment]::ProcessPath
            [string[]] $arguments = @('-NoProfile', '-NonInteractive', '-Command', $script)
            if ((Split-Path -Leaf $exe) -like 'dotnet*') { $arguments = @(Join-Path $PSHOME 'pwsh.dll') + $arguments }
            $log = & $exe $arguments 2>&1
            if (-not (Test-Path $result)) { throw "The example's Pester run wrote no result: $($log -join [Environment]::NewLine)" }
            $r = Get-Content -Raw $result | ConvertFrom-Json
            $r.Failed | Should -Be 0
            $r.Passed | Should -BeGreaterThan 0
            return
        }
        Push-Location $folder
        try {
            $code = [scriptblock]::Create($Example.Code)
            $objects = & { $ErrorActionPreference = 'Stop'; & $code }
            # Formatted where the example ran, as a console shows it (views show paths below it as ./NAME).
            $actual = Format-ExampleOutput $objects
        }
        finally { Pop-Location }
        if ($null -ne $Example.Output) {
            $expected = (($Example.Output -split "`n" | ForEach-Object TrimEnd) -join "`n").Trim("`n")
            $actual | Should -BeExactly $expected
        }
        else {
            $actual | Should -Not -BeNullOrEmpty -Because 'an example without an output block must still print something'
        }
    }
}

Describe 'Convert-HelpMarkdown' {
    BeforeAll {
        $fixture = Join-Path $RepoRoot 'tests/fixtures/help'
        # Writes one page to a fresh docs folder and returns the folder.
        function New-Docs([string] $Name, [string] $Markdown) {
            $dir = Join-Path $TestDrive ([Guid]::NewGuid().ToString('n'))
            New-Item -ItemType Directory $dir | Out-Null
            Set-Content -LiteralPath (Join-Path $dir "$Name.md") -Value $Markdown
            $dir
        }
        $switchPage = @'
---
external help file: Contoso.Pmem.dll-Help.xml
Module Name: Contoso.Pmem
schema: 2.0.0
---

# Clear-PmemLabel

## SYNOPSIS
Clears labels.

## DESCRIPTION
Clears the labels of a DIMM.

- first item
- second item

After the list.

## EXAMPLES

### Example 1: Clear one DIMM
```powershell
# Needs: root, dax-device
Clear-PmemLabel -Force
```

```output
done
```

It asks no questions.

## PARAMETERS

### -Force
Does not ask.

```yaml
Type: System.Management.Automation.SwitchParameter
Parameter Sets: (All)
Aliases:

Required: False
Position: Named
Default value: None
Accept pipeline input: False
Accept wildcard characters: False
```

## RELATED LINKS

[Get-PmemNamespace](Get-PmemNamespace.md)

Plain text that is no link.
'@
    }
    It 'compiles the HELP-SCHEMA example to the MAML platyPS writes' {
        $out = Join-Path $TestDrive 'fixture-out'
        & $Converter -DocsPath $fixture -OutputPath $out
        [xml] $x = Get-Content -Raw (Join-Path $out 'Contoso.Pmem.dll-Help.xml')
        $ns = [Xml.XmlNamespaceManager]::new($x.NameTable)
        $ns.AddNamespace('msh', 'http://msh'); $ns.AddNamespace('maml', 'http://schemas.microsoft.com/maml/2004/10')
        $ns.AddNamespace('command', 'http://schemas.microsoft.com/maml/dev/command/2004/10'); $ns.AddNamespace('dev', 'http://schemas.microsoft.com/maml/dev/2004/10')
        $x.DocumentElement.GetAttribute('schema') | Should -Be 'maml'
        $cmd = $x.SelectSingleNode('/msh:helpItems/command:command', $ns)
        @($cmd.ChildNodes.LocalName) | Should -Be @('details', 'description', 'syntax', 'parameters', 'inputTypes', 'returnValues', 'alertSet', 'examples', 'relatedLinks')
        $cmd.SelectSingleNode('command:details/command:verb', $ns).InnerText | Should -Be 'Get'
        $cmd.SelectSingleNode('command:details/command:noun', $ns).InnerText | Should -Be 'PmemNamespace'
        @($cmd.SelectNodes('maml:description/maml:para', $ns).InnerText) | Should -Be @('Runs `ndctl list --namespaces` and returns one object per namespace.', 'Requires the ndctl package.')
        $items = @($cmd.SelectNodes('command:syntax/command:syntaxItem', $ns))
        $items.Count | Should -Be 2
        @($items[0].SelectNodes('command:parameter/maml:name', $ns).InnerText) | Should -Be @('Id', 'Region')
        @($items[1].SelectNodes('command:parameter/maml:name', $ns).InnerText) | Should -Be @('Mode', 'Region')
        $id = $items[0].SelectSingleNode('command:parameter', $ns)
        $id.GetAttribute('required') | Should -Be 'false'
        $id.GetAttribute('variableLength') | Should -Be 'true'
        $id.GetAttribute('globbing') | Should -Be 'true'
        $id.GetAttribute('pipelineInput') | Should -Be 'True (ByValue, ByPropertyName)'
        $id.GetAttribute('position') | Should -Be '0'
        $id.GetAttribute('aliases') | Should -Be 'Name'
        $id.SelectSingleNode('dev:defaultValue', $ns).InnerText | Should -Be 'None'
        $mode = $items[1].SelectSingleNode('command:parameter', $ns)
        $mode.GetAttribute('required') | Should -Be 'true'
        $mode.GetAttribute('position') | Should -Be 'named'
        $mode.GetAttribute('aliases') | Should -Be 'none'
        @($mode.SelectNodes('command:parameterValueGroup/command:parameterValue', $ns).InnerText) | Should -Be @('fsdax', 'devdax', 'sector', 'raw')
        @($cmd.SelectNodes('command:parameters/command:parameter/maml:name', $ns).InnerText) | Should -Be @('Id', 'Mode', 'Region')
        $cmd.SelectNodes('command:parameters/command:parameter/command:parameterValueGroup', $ns).Count | Should -Be 0
        $cmd.SelectSingleNode('command:inputTypes/command:inputType/dev:type/maml:name', $ns).InnerText | Should -Be 'System.String'
        $cmd.SelectSingleNode('command:returnValues/command:returnValue/dev:type/maml:name', $ns).InnerText | Should -Be 'Contoso.Pmem.PmemNamespace'
        $cmd.SelectSingleNode('maml:alertSet/maml:alert/maml:para', $ns).InnerText | Should -Be 'Run as root to see all fields.'
        $cmd.SelectSingleNode('command:examples/command:example/maml:title', $ns).InnerText | Should -Be '--------------- Example 1: List every namespace ---------------'
        $cmd.SelectSingleNode('command:examples/command:example/dev:code', $ns).InnerText | Should -Be 'Get-PmemNamespace'
        $cmd.SelectSingleNode('command:relatedLinks/maml:navigationLink/maml:uri', $ns).InnerText | Should -Be 'https://pmem.io/ndctl/ndctl-list.html'
    }
    It 'writes switches, lists, output blocks, Needs markers and relative links as platyPS does' {
        $docs = New-Docs 'Clear-PmemLabel' $switchPage
        $page = & $Converter -DocsPath $docs -ParseOnly
        $page.Examples[0].Needs | Should -Be @('root', 'dax-device')
        $page.Examples[0].Output | Should -BeExactly 'done'
        $page.Examples[0].Code | Should -BeExactly "# Needs: root, dax-device`nClear-PmemLabel -Force"
        & $Converter -DocsPath $docs -OutputPath $docs
        [xml] $x = Get-Content -Raw (Join-Path $docs 'Contoso.Pmem.dll-Help.xml')
        $cmd = $x.helpItems.command
        $inSyntax = $cmd.syntax.syntaxItem.parameter
        @($inSyntax.ChildNodes | Where-Object LocalName -eq 'parameterValue') | Should -BeNullOrEmpty -Because 'switches have no value in syntax items'
        $cmd.parameters.parameter.parameterValue.'#text' | Should -Be 'SwitchParameter'
        $cmd.parameters.parameter.defaultValue | Should -Be 'False'
        @($cmd.description.para) | Should -Be @('Clears the labels of a DIMM.', '- first item', '- second item', '', 'After the list.')
        $cmd.examples.example.code | Should -BeExactly "# Needs: root, dax-device`nClear-PmemLabel -Force`n`ndone"
        $cmd.examples.example.remarks.para | Should -Be 'It asks no questions.'
        @($cmd.relatedLinks.navigationLink).Count | Should -Be 1
        $cmd.relatedLinks.navigationLink.linkText | Should -Be 'Get-PmemNamespace'
        $cmd.relatedLinks.navigationLink.uri | Should -BeNullOrEmpty
    }
    It 'refuses <Case>' -ForEach @(
        @{ Case = 'an unknown Needs word'; From = '# Needs: root, dax-device'; To = '# Needs: root, gpu'; Message = '*Needs:*gpu*' }
        @{ Case = 'a parameter without its yaml block'; From = '```yaml'; To = '```text'; Message = '*-Force has no*yaml block*' }
        @{ Case = 'an unknown yaml key'; From = 'Position: Named'; To = 'Positon: Named'; Message = "*unknown yaml key 'Positon'*" }
        @{ Case = 'a section the schema does not have'; From = '## RELATED LINKS'; To = '## SEE ALSO'; Message = "*unknown section '## SEE ALSO'*" }
        @{ Case = 'a title that is not the file name'; From = '# Clear-PmemLabel'; To = '# Clear-PmemLabels'; Message = "*'# Clear-PmemLabel' title*" }
        @{ Case = 'an output block before any code'; From = "``````powershell`n# Needs"; To = "``````output`nx`n``````"+"`n`n``````powershell`n# Needs"; Message = '*output block comes before any code*' }
    ) {
        $page = $switchPage.Replace($From, $To)
        $page | Should -Not -Be $switchPage
        $docs = New-Docs 'Clear-PmemLabel' $page
        { & $Converter -DocsPath $docs -ParseOnly } | Should -Throw $Message
    }
    It 'writes about topics as 80-column text with TOPIC first' {
        $docs = New-Docs 'about_Pmem' "# about_Pmem`n`n## about_Pmem`n`n# SHORT DESCRIPTION`nShort.`n`n# LONG DESCRIPTION`n$('word ' * 60)`n`n## Details`n- a list item`n`n``````powershell`nGet-PmemNamespace`n```````n"
        & $Converter -DocsPath $docs -OutputPath $docs
        $lines = @(Get-Content (Join-Path $docs 'about_Pmem.help.txt'))
        $lines[0..4] | Should -Be @('TOPIC', '    about_pmem', '', 'SHORT DESCRIPTION', '    Short.')
        $lines | ForEach-Object { $_.Length | Should -BeLessOrEqual 80 }
        $lines | Should -Contain 'LONG DESCRIPTION'
        $lines | Should -Contain 'Details'
        $lines | Should -Contain '    - a list item'
        $lines | Should -Contain '    Get-PmemNamespace'
        @($lines | Where-Object { $_ -match '^    word' }).Count | Should -BeGreaterThan 3
    }
}
